// Protobuf messages as JSON for the HTTP doors and the CLI: the .proto is the one schema of
// an answer, on NATS as bytes and on HTTP as this JSON. Unlike protobuf's own JSON mapping,
// 64-bit integers are JSON numbers (protobuf writes them as strings, which every script
// would have to convert), field names are as written in the .proto, and every field is
// written, defaults included, so that a script can rely on its presence. Maps are objects,
// enums are their names, a oneof only when set.
#pragma once

#include <string>

#include <google/protobuf/message.h>

namespace adclick {

std::string to_json(const google::protobuf::Message& m);

}  // namespace adclick
