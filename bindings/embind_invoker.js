// Embind's JS invoker for the bound functions, in place of the one
// src/embind/embind.js builds with -sDYNAMIC_EXECUTION=0 (no eval, for the
// strict CSP). Loaded with --js-library after embind.js, so this definition
// of $craftInvokerFunction is the one linked.
//
// Why: Emscripten 3.1.6's no-eval invoker keeps its argument arrays in the
// function's closure and reuses them on every call. A call that re-enters
// the same function (C++ calls the host, the host dispatches an event, a
// listener calls the core again) overwrites the outer call's wired
// arguments, and the outer call then frees the inner call's std::string a
// second time: heap corruption. Here every call keeps its own values. For
// the common shape (up to four arguments that need no destructor, e.g. the
// per-event `call`) it is also a plain closure over the types: no
// `arguments` array copied, no apply().
//
// Only free functions are bound in this build (bindings/module.cc); a class
// method is refused with a BindingError.

mergeInto(LibraryManager.library, {
  $craftInvokerFunction__deps: ['$throwBindingError', '$runDestructors'],
  $craftInvokerFunction: function (humanName, argTypes, classType, cppInvokerFunc, cppTargetFunc) {
    if (argTypes.length < 2) {
      throwBindingError("argTypes array size mismatch! Must at least get return value and 'this' types!");
    }
    if (argTypes[1] !== null && classType !== null) {
      throwBindingError(humanName + ': class methods are not supported by this build\'s invoker');
    }
    var count = argTypes.length - 2;
    var params = argTypes.slice(2);
    var result = argTypes[0];
    var returns = result.name !== 'void';
    var arity = function (given) {
      throwBindingError('function ' + humanName + ' called with ' + given + ' arguments, expected ' + count + ' args!');
    };
    var done = function (rv) {
      return returns ? result['fromWireType'](rv) : undefined;
    };
    // Types whose destructorFunction is undefined clean up through the
    // destructors list; the others (null: nothing, or a function) by their
    // own function, as embind.js does.
    var usesList = params.some(function (t) {
      return t.destructorFunction === undefined;
    });
    var plain = !usesList && params.every(function (t) {
      return t.destructorFunction === null;
    });
    if (plain && count <= 4) {
      var t0 = params[0];
      var t1 = params[1];
      var t2 = params[2];
      var t3 = params[3];
      if (count === 0) {
        return function () {
          if (arguments.length !== 0) arity(arguments.length);
          return done(cppInvokerFunc(cppTargetFunc));
        };
      }
      if (count === 1) {
        return function (a) {
          if (arguments.length !== 1) arity(arguments.length);
          return done(cppInvokerFunc(cppTargetFunc, t0['toWireType'](null, a)));
        };
      }
      if (count === 2) {
        return function (a, b) {
          if (arguments.length !== 2) arity(arguments.length);
          return done(cppInvokerFunc(cppTargetFunc, t0['toWireType'](null, a), t1['toWireType'](null, b)));
        };
      }
      if (count === 3) {
        return function (a, b, c) {
          if (arguments.length !== 3) arity(arguments.length);
          return done(
            cppInvokerFunc(cppTargetFunc, t0['toWireType'](null, a), t1['toWireType'](null, b), t2['toWireType'](null, c))
          );
        };
      }
      return function (a, b, c, d) {
        if (arguments.length !== 4) arity(arguments.length);
        return done(
          cppInvokerFunc(
            cppTargetFunc,
            t0['toWireType'](null, a),
            t1['toWireType'](null, b),
            t2['toWireType'](null, c),
            t3['toWireType'](null, d)
          )
        );
      };
    }
    return function () {
      if (arguments.length !== count) arity(arguments.length);
      var destructors = [];
      var wired = [cppTargetFunc];
      for (var i = 0; i < count; i++) wired.push(params[i]['toWireType'](destructors, arguments[i]));
      var rv = cppInvokerFunc.apply(null, wired);
      if (usesList) {
        runDestructors(destructors);
      } else {
        for (var j = 0; j < count; j++) {
          if (params[j].destructorFunction !== null) params[j].destructorFunction(wired[j + 1]);
        }
      }
      return done(rv);
    };
  },
});
