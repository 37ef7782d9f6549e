# Generates a C++ source holding the name-reading tables of data/name_readings/ as raw strings
# (internal::kJaNameReadings, internal::kKoHanjaReadings). Run by CMake at build time:
# -DDATA_DIR=<repo>/data/name_readings -DOUT=...
file(READ ${DATA_DIR}/ja_names.tsv ja)
file(READ ${DATA_DIR}/ko_hanja.tsv ko)
foreach(text ja ko)
  string(FIND "${${text}}" ")eg_tsv\"" bad)
  if(NOT bad EQUAL -1)
    message(FATAL_ERROR "${text} table holds the raw-string delimiter")
  endif()
endforeach()
file(WRITE ${OUT}.tmp "// Generated from data/name_readings by embed_readings.cmake. Do not edit.\n\
namespace eargate::screen::internal {\n\n\
extern const char kJaNameReadings[];\nextern const char kKoHanjaReadings[];\n\
const char kJaNameReadings[] = R\"eg_tsv(${ja})eg_tsv\";\n\
const char kKoHanjaReadings[] = R\"eg_tsv(${ko})eg_tsv\";\n\n\
}  // namespace eargate::screen::internal\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
