// tandem/http/headers.hpp — HTTP header fields, names compared case-insensitively (Python: requests'
// CaseInsensitiveDict, aiohttp's CIMultiDict). The one header type of the http layer: the clients'
// Response and RequestOptions and the server's web::Request and web::Response all use it.
//
// ```cpp body
//   tandem::http::Headers h{{"Content-Type", "text/plain"}};
//   h.add("Set-Cookie", "a=1");                 // a name may occur more than once
//   h.add("Set-Cookie", "b=2");
//   h.set("content-type", "application/json");  // replaces every field of that name
//   std::string type = h.value_or("CONTENT-TYPE", "");  // "application/json"
// ```
//
// Fields keep their order and the spelling they were given; get() returns a copy of the first value,
// so a value outlives the Headers it came from.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::http {

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;
  Headers() = default;
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  /// Appends a field (an existing one of the same name stays).
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  /// Replaces every field called `name` by this one.
  void set(std::string name, std::string value);
  /// Removes every field called `name`; returns how many there were.
  std::size_t remove(std::string_view name);
  /// The first value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const;
  /// The first value of `name`, or `fallback`.
  std::string value_or(std::string_view name, std::string fallback) const;
  bool contains(std::string_view name) const;

  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  std::vector<Field>::const_iterator begin() const noexcept { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const noexcept { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

/// ASCII case-insensitive equality, as header names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace tandem::http
