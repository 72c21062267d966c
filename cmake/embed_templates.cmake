# Writes OUTPUT: a C++ source holding every *.mustache file under ROOT
# (the shipped notification templates), so the shipgate binary carries them
# and needs no installed data folder. Run by the build when a template
# changes: cmake -DROOT=templates -DOUTPUT=embedded_templates.cpp -P embed_templates.cmake
file(GLOB_RECURSE files RELATIVE "${ROOT}" "${ROOT}/*.mustache")
list(SORT files)
set(out "// Generated from templates/ by cmake/embed_templates.cmake; do not edit.\n")
string(APPEND out "#include \"notify/templates.hpp\"\n\nnamespace notify {\n\n")
string(APPEND out "const std::map<std::string, std::string>& shipped_templates() {\n")
string(APPEND out "  static const std::map<std::string, std::string> k_templates = {\n")
foreach(file IN LISTS files)
  file(READ "${ROOT}/${file}" content HEX)
  string(LENGTH "${content}" hex_length)
  math(EXPR length "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${content}")
  string(APPEND out "      {\"${file}\", std::string(\"${escaped}\", ${length})},\n")
endforeach()
string(APPEND out "  };\n  return k_templates;\n}\n\n} // namespace notify\n")
file(WRITE "${OUTPUT}.tmp" "${out}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
