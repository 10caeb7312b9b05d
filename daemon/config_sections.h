#pragma once
// Private to the config loader: the sections of vigil.yaml that have a file of
// their own (streams and tables in config_streams.cpp). Problems are reported into
// the YamlFile's Diagnostics; nothing throws.
#include <string>
#include <vector>

#include "daemon/config.h"
#include "rules/yaml_reader.h"

namespace vigil {

void parse_streams(YamlFile& f, const YAML::Node& n, std::vector<StreamSpec>& out);
void parse_tables(YamlFile& f, const YAML::Node& n, const std::string& base_dir, std::vector<TableSpec>& out);

// `p` resolved against the config file's folder when relative.
std::string resolve_path(const std::string& base_dir, const std::string& p);

// A field path (or list of them, when allow_list) under `key` of `m`.
bool parse_key_paths(YamlFile& f, YamlMap& m, const char* key, std::vector<FieldPath>& out);

// Is `filter` a well-formed MQTT topic filter? Else `why` says what is wrong.
bool valid_topic_filter(const std::string& filter, std::string& why);

}  // namespace vigil
