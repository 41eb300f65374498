#include "http/static_files.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using microsockets::static_files;

TEST_CASE("without /etc/mime.types a built-in table still types a web page's files") {
  static_files files(std::filesystem::temp_directory_path(), "/nonexistent/mime.types");
  CHECK(files.content_type("index.html") == "text/html; charset=utf-8");
  CHECK(files.content_type("app.mjs") == "text/javascript; charset=utf-8");
  CHECK(files.content_type("logo.svg") == "image/svg+xml");
  CHECK(files.content_type("archive.xyz") == "application/octet-stream");
}

TEST_CASE("If-None-Match decides alone; If-Modified-Since compares whole seconds") {
  const static_files::version v{"\"1f-9\"", "Thu, 01 Jan 2026 00:00:00 GMT", 1767225600};
  CHECK(static_files::not_modified(v, "\"1f-9\"", ""));
  CHECK(static_files::not_modified(v, "W/\"1f-9\"", ""));
  CHECK(static_files::not_modified(v, " \"a\" , \"1f-9\" ", ""));
  CHECK_FALSE(static_files::not_modified(v, "\"a\"", "Thu, 01 Jan 2026 00:00:00 GMT"));
  CHECK(static_files::not_modified(v, "", "Thu, 01 Jan 2026 00:00:00 GMT"));
  CHECK(static_files::not_modified(v, "", "Fri, 02 Jan 2026 00:00:00 GMT"));
  CHECK_FALSE(static_files::not_modified(v, "", "Wed, 31 Dec 2025 23:59:59 GMT"));
  CHECK_FALSE(static_files::not_modified(v, "", "yesterday"));
  CHECK_FALSE(static_files::not_modified(v, "", ""));
}
