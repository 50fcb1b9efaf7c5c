#include "messages/proto_json.hpp"

#include <cmath>
#include <cstdio>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include "common/log.hpp"

namespace adclick {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void write_message(std::string& out, const Message& m);

void write_double(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  out += buf;
}

/// One value of `f` (element `index` if repeated, else the singular value).
void write_value(std::string& out, const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: out += std::to_string(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f)); break;
    case FieldDescriptor::CPPTYPE_INT64: out += std::to_string(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f)); break;
    case FieldDescriptor::CPPTYPE_UINT32: out += std::to_string(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f)); break;
    case FieldDescriptor::CPPTYPE_UINT64: out += std::to_string(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f)); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: write_double(out, rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f)); break;
    case FieldDescriptor::CPPTYPE_FLOAT: write_double(out, rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f)); break;
    case FieldDescriptor::CPPTYPE_BOOL: out += (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false"; break;
    case FieldDescriptor::CPPTYPE_ENUM: append_json_string(out, (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name()); break;
    case FieldDescriptor::CPPTYPE_STRING: append_json_string(out, rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f)); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: write_message(out, rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f)); break;
  }
}

void write_message(std::string& out, const Message& m) {
  const auto* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  out.push_back('{');
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->containing_oneof() != nullptr && !r->HasField(m, f)) continue;
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, f->name());
    out.push_back(':');
    if (f->is_map()) {
      // A map is a repeated entry message with fields key (1) and value (2).
      out.push_back('{');
      for (int j = 0; j < r->FieldSize(m, f); ++j) {
        const Message& entry = r->GetRepeatedMessage(m, f, j);
        const auto* key = entry.GetDescriptor()->field(0);
        const auto* value = entry.GetDescriptor()->field(1);
        if (j != 0) out.push_back(',');
        std::string k;
        write_value(k, entry, key, 0);
        if (k.empty() || k.front() != '"') append_json_string(out, k);  // JSON keys are strings
        else out += k;
        out.push_back(':');
        write_value(out, entry, value, 0);
      }
      out.push_back('}');
    } else if (f->is_repeated()) {
      out.push_back('[');
      for (int j = 0; j < r->FieldSize(m, f); ++j) {
        if (j != 0) out.push_back(',');
        write_value(out, m, f, j);
      }
      out.push_back(']');
    } else {
      write_value(out, m, f, 0);
    }
  }
  out.push_back('}');
}

}  // namespace

std::string to_json(const Message& m) {
  std::string out;
  write_message(out, m);
  return out;
}

}  // namespace adclick
