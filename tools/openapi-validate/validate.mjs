// Validates an OpenAPI document (a file path, or an http:// URL of a running broker's
// /v1/openapi.json) against the official OpenAPI JSON schema of the version it declares.
// Exit 0: valid; 1: invalid (the errors are printed); 2: bad usage or unreadable input.
import { readFile } from "node:fs/promises";
import { Validator } from "@seriousme/openapi-schema-validator";

const source = process.argv[2];
if (!source) {
  console.error("usage: node validate.mjs <openapi.json | http://host:port/v1/openapi.json>");
  process.exit(2);
}

let document;
try {
  const text = source.startsWith("http://") || source.startsWith("https://")
    ? await (await fetch(source)).text()
    : await readFile(source, "utf8");
  document = JSON.parse(text);
} catch (error) {
  console.error(`cannot read ${source}: ${error.message}`);
  process.exit(2);
}

const validator = new Validator();
const result = await validator.validate(document);
if (!result.valid) {
  console.error(`${source}: not a valid OpenAPI ${document.openapi ?? "(no version)"} document`);
  console.error(JSON.stringify(result.errors, null, 2));
  process.exit(1);
}
console.log(`${source}: valid OpenAPI ${validator.version} document`);
