'use strict';
// Preloaded into the jsii kernel's Node.js processes (NODE_OPTIONS=--require, set by
// rudder_ha/frontends/cdktf/lazy_kernel_exports.py): the prebuilt provider packages' lib/index.js export
// each resource module lazily.
//
// That file, as the TypeScript compiler emits it, is one line per resource module:
//     exports.vpc = require("./vpc");
// so loading the assembly ran all of them (2,212 modules, 60 MB of JavaScript for AWS), about 2.5 s of
// CPU in every process that starts the kernel, for the few dozen a stack uses. Here each such line becomes
// an enumerable, configurable property whose first read requires the module and stores it as a plain
// value: the exports object has the same names, and each name the same value, once read. The kernel reads
// types by property access (the assembly's name, then the submodule, then the type).
//
// Only files named lib/index.js inside an @cdktf/provider-* package change, and only their lines of exactly
// that shape; every other line, and every other file, is compiled as it is.

const Module = require('module');

const PROVIDER_INDEX = /[\\/]@cdktf[\\/]provider-[a-z0-9-]+[\\/](?:[^\\/]+[\\/])*lib[\\/]index\.js$/;
const REEXPORT = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;

function lazyExport(name, path) {
  const key = JSON.stringify(name);
  const target = JSON.stringify(path);
  return (
    `Object.defineProperty(exports, ${key}, { enumerable: true, configurable: true, get() { ` +
    `const value = require(${target}); ` +
    `Object.defineProperty(exports, ${key}, { value, enumerable: true, writable: true, configurable: true }); ` +
    `return value; } });`
  );
}

// The source with each `exports.X = require("./x");` line made lazy, and how many lines changed.
function lazify(source) {
  let changed = 0;
  const lines = source.split('\n').map((line) => {
    const match = REEXPORT.exec(line.replace(/\r$/, ''));
    if (match === null) {
      return line;
    }
    changed += 1;
    return lazyExport(match[1], match[2]);
  });
  return { source: lines.join('\n'), changed };
}

const compile = Module.prototype._compile;
if (typeof compile === 'function' && !Module.prototype._compile.rudderHaLazyExports) {
  const lazyCompile = function (content, filename) {
    if (typeof content === 'string' && PROVIDER_INDEX.test(filename)) {
      const lazy = lazify(content);
      if (lazy.changed > 0) {
        return compile.call(this, lazy.source, filename);
      }
    }
    return compile.call(this, content, filename);
  };
  lazyCompile.rudderHaLazyExports = true;
  Module.prototype._compile = lazyCompile;
}

module.exports = { lazify };
