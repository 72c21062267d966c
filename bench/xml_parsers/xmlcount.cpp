// Parser baseline for the shipgate benchmark (not part of shipgate's build).
//
//   xmlcount expat   REPORT.xml   stream the file through expat in 1 MiB chunks
//   xmlcount pugixml REPORT.xml   load the whole file into a pugixml DOM
//
// Both count all elements, and classify every <testcase> like shipgate does
// (error > failure > skipped > passed), then print on stdout
//   tests=N passed=N failed=N errors=N skipped=N elements=N
// and on stderr the elapsed time and peak RSS measured in-process.
// It documents the parser choice: expat works in bounded memory whatever the
// file size; a DOM parser (pugixml) needs memory proportional to the file.
#include <expat.h>
#include <pugixml.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Counts {
  unsigned long long elements = 0, tests = 0, passed = 0, failed = 0, errors = 0, skipped = 0;
};

enum Flag : unsigned { kFailure = 1, kError = 2, kSkipped = 4 };

void classify(Counts& c, unsigned flags) {
  ++c.tests;
  if (flags & kError) ++c.errors;
  else if (flags & kFailure) ++c.failed;
  else if (flags & kSkipped) ++c.skipped;
  else ++c.passed;
}

// ---- expat: streaming, bounded memory ----
struct ExpatState {
  Counts c;
  int case_depth = -1;  // depth of the open <testcase>, -1 if none
  int depth = 0;
  unsigned flags = 0;
};

void XMLCALL on_start(void* ud, const XML_Char* name, const XML_Char**) {
  auto* s = static_cast<ExpatState*>(ud);
  ++s->c.elements;
  if (std::strcmp(name, "testcase") == 0) {
    s->case_depth = s->depth;
    s->flags = 0;
  } else if (s->case_depth >= 0 && s->depth == s->case_depth + 1) {
    if (std::strcmp(name, "failure") == 0) s->flags |= kFailure;
    else if (std::strcmp(name, "error") == 0) s->flags |= kError;
    else if (std::strcmp(name, "skipped") == 0) s->flags |= kSkipped;
  }
  ++s->depth;
}

void XMLCALL on_end(void* ud, const XML_Char*) {
  auto* s = static_cast<ExpatState*>(ud);
  --s->depth;
  if (s->depth == s->case_depth) {
    classify(s->c, s->flags);
    s->case_depth = -1;
  }
}

bool run_expat(const char* path, Counts& out) {
  std::FILE* f = std::fopen(path, "rb");
  if (!f) { std::perror(path); return false; }
  XML_Parser p = XML_ParserCreate(nullptr);
  ExpatState st;
  XML_SetUserData(p, &st);
  XML_SetElementHandler(p, on_start, on_end);
  constexpr size_t kChunk = 1 << 20;  // 1 MiB
  bool ok = true;
  for (;;) {
    void* buf = XML_GetBuffer(p, kChunk);
    if (!buf) { ok = false; break; }
    size_t n = std::fread(buf, 1, kChunk, f);
    bool last = n < kChunk;
    if (XML_ParseBuffer(p, static_cast<int>(n), last) == XML_STATUS_ERROR) {
      std::fprintf(stderr, "expat: %s at line %lu\n", XML_ErrorString(XML_GetErrorCode(p)),
                   static_cast<unsigned long>(XML_GetCurrentLineNumber(p)));
      ok = false;
      break;
    }
    if (last) break;
  }
  XML_ParserFree(p);
  std::fclose(f);
  out = st.c;
  return ok;
}

// ---- pugixml: whole-document DOM ----
void walk(const pugi::xml_node& n, Counts& c) {
  for (pugi::xml_node ch = n.first_child(); ch; ch = ch.next_sibling()) {
    if (ch.type() != pugi::node_element) continue;
    ++c.elements;
    if (std::strcmp(ch.name(), "testcase") == 0) {
      unsigned flags = 0;
      for (pugi::xml_node r = ch.first_child(); r; r = r.next_sibling()) {
        if (r.type() != pugi::node_element) continue;
        ++c.elements;
        if (std::strcmp(r.name(), "failure") == 0) flags |= kFailure;
        else if (std::strcmp(r.name(), "error") == 0) flags |= kError;
        else if (std::strcmp(r.name(), "skipped") == 0) flags |= kSkipped;
        Counts sub;  // deeper elements under a result (rare) still count as elements
        walk(r, sub);
        c.elements += sub.elements;
      }
      classify(c, flags);
    } else {
      walk(ch, c);
    }
  }
}

bool run_pugixml(const char* path, Counts& out) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_file(path);
  if (!r) {
    std::fprintf(stderr, "pugixml: %s at offset %td\n", r.description(), r.offset);
    return false;
  }
  walk(doc, out);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "expat") != 0 && std::strcmp(argv[1], "pugixml") != 0)) {
    std::fprintf(stderr, "usage: %s expat|pugixml REPORT.xml\n", argv[0]);
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  Counts c;
  bool ok = std::strcmp(argv[1], "expat") == 0 ? run_expat(argv[2], c) : run_pugixml(argv[2], c);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!ok) return 3;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("tests=%llu passed=%llu failed=%llu errors=%llu skipped=%llu elements=%llu\n", c.tests,
              c.passed, c.failed, c.errors, c.skipped, c.elements);
  std::fprintf(stderr, "%s: %.3f s, peak RSS %.1f MiB\n", argv[1], secs, ru.ru_maxrss / 1024.0);
  return 0;
}
