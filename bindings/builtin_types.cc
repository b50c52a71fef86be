// Embind's registration of the built-in types, limited to the ones the
// surface of module.cc uses. Defining these two symbols keeps Embind's own
// bind.cpp out of the link: its registration of every integer width, wide
// strings and memory views costs Wasm and glue (UTF-16/32 codecs), and its
// __getTypeName formats with sprintf. With -fno-rtti types are identified
// by address, so no libc++abi type_info machinery is linked either.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

using emscripten::val;
using emscripten::internal::TypeID;

extern "C" {

// Embind asks for a type's name only to report a type that was never
// registered, which the tests would catch at load.
EMSCRIPTEN_KEEPALIVE const char* __getTypeName(const void*) {
  return strdup("(unregistered type)");
}

EMSCRIPTEN_KEEPALIVE __attribute__((constructor)) void
__embind_register_native_and_builtin_types() {
  using namespace emscripten::internal;
  _embind_register_void(TypeID<void>::get(), "void");
  _embind_register_bool(TypeID<bool>::get(), "bool", sizeof(bool), true, false);
  _embind_register_integer(TypeID<int>::get(), "int", sizeof(int), INT_MIN,
                           INT_MAX);
  _embind_register_integer(TypeID<unsigned long>::get(), "unsigned long",
                           sizeof(unsigned long), 0, ULONG_MAX);
  _embind_register_float(TypeID<double>::get(), "double", sizeof(double));
  _embind_register_std_string(TypeID<std::string>::get(), "std::string");
  _embind_register_emval(TypeID<val>::get(), "emscripten::val");
}

}  // extern "C"
