// Request body parsers (xml.h).
#include <pugixml.hpp>

#include "s3/xml.h"

namespace as::s3 {
namespace {

Status Malformed(std::string what) { return Status::InvalidArgument("malformed XML: " + what); }

// Element name without a namespace prefix ("s3:Part" -> "Part").
std::string_view LocalName(const pugi::xml_node& n) {
  std::string_view name = n.name();
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// "<name>", for messages.
std::string Tag(std::string_view name) {
  std::string t;
  t.reserve(name.size() + 2);
  t.push_back('<');
  t += name;
  t.push_back('>');
  return t;
}

// All text and CDATA directly inside an element, joined.
std::string Text(const pugi::xml_node& n) {
  std::string out;
  for (pugi::xml_node c : n.children()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  }
  return out;
}

// Parses a whole document and returns its root element, which must be named
// `root`. Whitespace-only text is kept when it is an element's only child,
// so a key of " " survives; DOCTYPE is skipped unexpanded (no entities).
Result<pugi::xml_node> Load(pugi::xml_document& doc, std::string_view body, const char* root) {
  unsigned options = pugi::parse_default | pugi::parse_ws_pcdata_single;
  pugi::xml_parse_result res = doc.load_buffer(body.data(), body.size(), options, pugi::encoding_utf8);
  if (!res) {
    return Malformed(std::string(res.description()) + " at byte " + std::to_string(res.offset));
  }
  pugi::xml_node top = doc.document_element();
  int elements = 0;
  for (pugi::xml_node c : doc.children()) elements += c.type() == pugi::node_element;
  if (elements > 1) return Malformed("more than one root element");
  if (!top || LocalName(top) != root) {
    return Malformed(std::string("root element is <") + (top ? top.name() : "") + ">, expected <" +
                     root + ">");
  }
  return top;
}

// The only child element named `name`: nullptr-node when absent, error when repeated.
Result<pugi::xml_node> Single(const pugi::xml_node& parent, std::string_view name) {
  pugi::xml_node found;
  for (pugi::xml_node c : parent.children()) {
    if (c.type() != pugi::node_element || LocalName(c) != name) continue;
    if (found) return Malformed(Tag(name) + " appears twice");
    found = c;
  }
  return found;
}

Result<pugi::xml_node> Required(const pugi::xml_node& parent, std::string_view name) {
  AS_ASSIGN_OR_RETURN(pugi::xml_node n, Single(parent, name));
  if (!n) return Malformed(Tag(LocalName(parent)) + " lacks " + Tag(name));
  return n;
}

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view TrimXmlSpace(std::string_view s) {
  while (!s.empty() && IsXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsXmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

Result<uint32_t> ParsePartNumber(std::string_view text) {
  std::string_view t = TrimXmlSpace(text);
  uint32_t v = 0;
  bool ok = !t.empty() && t.size() <= 5;
  for (char c : t) {
    if (c < '0' || c > '9') ok = false;
    else v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (!ok || v < 1 || v > 10000) {
    return Malformed("PartNumber '" + std::string(text) + "' is not in 1..10000");
  }
  return v;
}

// xs:boolean: true, false, 1, 0 (surrounding whitespace allowed).
Result<bool> ParseBool(std::string_view text, const char* what) {
  std::string_view t = TrimXmlSpace(text);
  if (t == "true" || t == "1") return true;
  if (t == "false" || t == "0") return false;
  return Malformed(std::string(what) + " '" + std::string(text) + "' is not a boolean");
}

}  // namespace

Result<std::vector<CompletePart>> ParseCompleteMultipartUpload(std::string_view body) {
  pugi::xml_document doc;
  AS_ASSIGN_OR_RETURN(pugi::xml_node root, Load(doc, body, "CompleteMultipartUpload"));
  std::vector<CompletePart> parts;
  for (pugi::xml_node p : root.children()) {
    if (p.type() != pugi::node_element || LocalName(p) != "Part") continue;
    AS_ASSIGN_OR_RETURN(pugi::xml_node num, Required(p, "PartNumber"));
    AS_ASSIGN_OR_RETURN(pugi::xml_node etag, Required(p, "ETag"));
    CompletePart part;
    AS_ASSIGN_OR_RETURN(part.part_number, ParsePartNumber(Text(num)));
    const std::string etag_text = Text(etag);  // e views into it
    std::string_view e = TrimXmlSpace(etag_text);
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    if (e.empty()) return Malformed("part " + std::to_string(part.part_number) + " has an empty ETag");
    part.etag = std::string(e);
    for (ChecksumAlgo a : kAllChecksumAlgos) {
      AS_ASSIGN_OR_RETURN(pugi::xml_node c, Single(p, Spec(a).element));
      if (c) part.checksums.emplace_back(a, std::string(TrimXmlSpace(Text(c))));
    }
    parts.push_back(std::move(part));
  }
  if (parts.empty()) return Malformed("<CompleteMultipartUpload> lists no <Part>");
  return parts;
}

Result<DeleteRequest> ParseDelete(std::string_view body) {
  pugi::xml_document doc;
  AS_ASSIGN_OR_RETURN(pugi::xml_node root, Load(doc, body, "Delete"));
  DeleteRequest req;
  AS_ASSIGN_OR_RETURN(pugi::xml_node quiet, Single(root, "Quiet"));
  if (quiet) {
    AS_ASSIGN_OR_RETURN(req.quiet, ParseBool(Text(quiet), "Quiet"));
  }
  for (pugi::xml_node o : root.children()) {
    if (o.type() != pugi::node_element || LocalName(o) != "Object") continue;
    if (req.keys.size() == kMaxDeleteKeys) {
      return Malformed("<Delete> lists more than " + std::to_string(kMaxDeleteKeys) + " objects");
    }
    AS_ASSIGN_OR_RETURN(pugi::xml_node key, Required(o, "Key"));
    req.keys.push_back(Text(key));  // exactly as sent: spaces are part of a key
  }
  if (req.keys.empty()) return Malformed("<Delete> lists no <Object>");
  return req;
}

Result<Tags> ParseTagging(std::string_view body) {
  pugi::xml_document doc;
  AS_ASSIGN_OR_RETURN(pugi::xml_node root, Load(doc, body, "Tagging"));
  AS_ASSIGN_OR_RETURN(pugi::xml_node set, Required(root, "TagSet"));
  Tags tags;
  for (pugi::xml_node t : set.children()) {
    if (t.type() != pugi::node_element || LocalName(t) != "Tag") continue;
    if (tags.size() == 50) return Malformed("<TagSet> lists more than 50 tags");
    AS_ASSIGN_OR_RETURN(pugi::xml_node key, Required(t, "Key"));
    AS_ASSIGN_OR_RETURN(pugi::xml_node value, Required(t, "Value"));
    tags.emplace_back(Text(key), Text(value));  // as sent: spaces belong to tags
  }
  return tags;
}

Result<std::optional<std::string>> ParseCreateBucketConfiguration(std::string_view body) {
  if (TrimXmlSpace(body).empty()) return std::optional<std::string>();
  pugi::xml_document doc;
  AS_ASSIGN_OR_RETURN(pugi::xml_node root, Load(doc, body, "CreateBucketConfiguration"));
  AS_ASSIGN_OR_RETURN(pugi::xml_node loc, Single(root, "LocationConstraint"));
  if (!loc) return std::optional<std::string>();
  return std::optional<std::string>(std::string(TrimXmlSpace(Text(loc))));
}

}  // namespace as::s3
