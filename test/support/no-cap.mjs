// node --import hook: makes the libpcap binding fail to load, as on a machine where `cap` did
// not build (its lib/Cap.js requires build/Release/cap.node, which is then missing). Says so
// on stderr each time it refuses, so a test can tell "never asked for" from "refused".
import Module from "node:module";

const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "cap" || /[\\/]cap\.node$/.test(request)) {
    process.stderr.write(`no-cap hook: refused ${request}\n`);
    const err = new Error("Cannot find module '../build/Release/cap.node' (no-cap test hook)");
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  return load.call(this, request, ...rest);
};
