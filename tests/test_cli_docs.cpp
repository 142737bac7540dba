// The user documentation agrees with the binary: README.md and docs/*.md name only commands
// and options that exist, their relative links resolve, every --help names an existing docs
// page, and the file tables are the schema's (scripts/check_docs.py does the reading).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "test_support.hpp"

namespace {

std::string source_file(const std::string& relative) {
  std::ifstream in(std::string(APICAL_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t line_count(const std::string& text) {
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

}  // namespace

TEST_CASE("the docs name only commands and options that exist, and their links resolve", "[docs]") {
  const auto result = apical::test::run_shell("/usr/bin/python3 " + std::string(APICAL_SOURCE_DIR) +
                                              "/scripts/check_docs.py " + APICAL_BINARY);
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK(result.output.find("0 problems") != std::string::npos);
}

TEST_CASE("the README is a front page of at most 250 lines that links the reference", "[docs]") {
  const std::string readme = source_file("README.md");
  CHECK(line_count(readme) <= 250);
  CHECK(readme.find("bash scripts/demo.sh") != std::string::npos);
  CHECK(readme.find("bash scripts/test.sh") != std::string::npos);
  CHECK(readme.find("](docs/README.md)") != std::string::npos);
}
