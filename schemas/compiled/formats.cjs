// The string formats bkg's schemas use: ajv-formats' full set plus semver and semver-range.
// Shared by the ajv that compiles at run time (src/validation/schemas.ts) and by the
// precompiled validators next to this file, so both judge a value the same way.
"use strict";
const { fullFormats } = require("ajv-formats/dist/formats");
const semver = require("semver");

module.exports = {
  ...fullFormats,
  semver: { type: "string", validate: (v) => semver.valid(v) !== null },
  "semver-range": { type: "string", validate: (v) => semver.validRange(v) !== null },
};
