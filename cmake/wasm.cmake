# Every Emscripten flag of the project lives here.
set(SSEB_WASM_OUT_DIR "${CMAKE_SOURCE_DIR}/web/dist" CACHE PATH
    "Where the Wasm module and its JS glue are written")

add_executable(sse_balancer_core
  bindings/browser_host.cc
  bindings/builtin_types.cc
  bindings/js_conversions.cc
  bindings/module.cc
)
target_link_libraries(sse_balancer_core PRIVATE sseb_core)
target_include_directories(sse_balancer_core PRIVATE ${CMAKE_SOURCE_DIR}/bindings)
set_target_properties(sse_balancer_core PROPERTIES
  OUTPUT_NAME "sse-balancer-core"
  SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${SSEB_WASM_OUT_DIR}")

# -flto lets the linker drop what no binding reaches (about 1.3 KB gzipped).
# -fno-exceptions: nothing throws; the exception tables cost about 0.35 KB.
# -fno-rtti with EMSCRIPTEN_HAS_UNBOUND_TYPE_NAMES=0: Embind identifies types
# by address, and no libc++abi type_info machinery is linked.
set(SSEB_WASM_CXX_FLAGS -Oz -flto -fno-exceptions -fno-rtti
    -DEMSCRIPTEN_HAS_UNBOUND_TYPE_NAMES=0)
target_compile_options(sseb_core PRIVATE ${SSEB_WASM_CXX_FLAGS})
target_compile_options(sse_balancer_core PRIVATE ${SSEB_WASM_CXX_FLAGS})
set_property(TARGET sse_balancer_core APPEND PROPERTY LINK_DEPENDS
  "${CMAKE_SOURCE_DIR}/bindings/embind_invoker.js")
# Embind's JS libraries without its bind.cpp (which --bind links whole):
# bindings/builtin_types.cc registers only the types the surface uses.
set(SSEB_EMBIND_JS "${EMSCRIPTEN_ROOT_PATH}/src/embind")
target_link_options(sse_balancer_core PRIVATE
  "SHELL:--js-library ${SSEB_EMBIND_JS}/emval.js"
  "SHELL:--js-library ${SSEB_EMBIND_JS}/embind.js"
  # After embind.js: its invoker replaced by one that keeps each call's
  # arguments to itself (bindings/embind_invoker.js says why).
  "SHELL:--js-library ${CMAKE_SOURCE_DIR}/bindings/embind_invoker.js"
  -sEXPORTED_FUNCTIONS=_malloc,_free
  -fno-rtti
  -Oz
  -flto
  # ES module factory for the browser only; scripts/bundle.mjs puts it
  # before web/index.js in web/dist/sse-balancer.js.
  -sMODULARIZE=1
  -sEXPORT_ES6=1
  -sEXPORT_NAME=createSseBalancerCore
  -sENVIRONMENT=web
  # No eval/new Function: runs under script-src 'self' 'wasm-unsafe-eval'.
  -sDYNAMIC_EXECUTION=0
  -sFILESYSTEM=0
  # emmalloc is several KB smaller than dlmalloc; the core allocates little.
  -sMALLOC=emmalloc
  -sALLOW_MEMORY_GROWTH=1
  -sINITIAL_MEMORY=1MB
  # Closure shrinks the JS glue by about a third; the compiler comes from npm
  # (google-closure-compiler-linux@20220202, of Emscripten 3.1.6's era), located
  # through EM_CLOSURE_COMPILER by scripts/build-wasm.sh.
  --closure=1
  -sTOTAL_STACK=64KB
  # The glue handles only what web/index.js passes in (instantiateWasm), may
  # assume TextDecoder (every browser and Node have it) and keeps no errno
  # plumbing: about 0.65 KB of glue, gzipped.
  -sINCOMING_MODULE_JS_API=[instantiateWasm]
  -sTEXTDECODER=2
  -sSUPPORT_ERRNO=0
)
