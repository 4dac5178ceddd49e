// Parse and validate an AsyncAPI document with the official AsyncAPI parser.
//
//   node contracts/tools/validate-asyncapi.mjs [contracts/schemas/asyncapi.yaml]
//
// Exits 0 when the document parses without diagnostics of severity error, 1 when it
// has some, 2 when the parser is not installed. Errors and warnings are printed on
// stderr; warnings do not fail, and information and hints (such as "a newer AsyncAPI
// version exists") are not printed.
//
// The parser is installed by `make setup` into <repo>/.tools/node_modules, which is not
// on Node's module path from this directory: it is loaded from there explicitly
// (NRM_TOOLS_DIR overrides where).

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const toolsDir = resolve(process.env.NRM_TOOLS_DIR ?? resolve(here, "..", "..", ".tools"));
const documentPath = resolve(process.argv[2] ?? resolve(here, "..", "schemas", "asyncapi.yaml"));

// Spectral's DiagnosticSeverity: 0 error, 1 warning, 2 information, 3 hint.
const SEVERITY_NAMES = ["error", "warning", "information", "hint"];

function loadParser() {
  const require = createRequire(resolve(toolsDir, "package.json"));
  try {
    return require("@asyncapi/parser");
  } catch (error) {
    console.error(
      `@asyncapi/parser is not installed under ${toolsDir}: run \`make setup\` (${error.code ?? error})`,
    );
    process.exit(2);
  }
}

function describe(diagnostic) {
  const severity = SEVERITY_NAMES[diagnostic.severity] ?? `severity ${diagnostic.severity}`;
  const where = (diagnostic.path ?? []).join(".") || "(document)";
  const line = diagnostic.range ? `:${diagnostic.range.start.line + 1}` : "";
  return `${documentPath}${line}: ${severity} [${diagnostic.code}] at ${where}: ${diagnostic.message}`;
}

async function main() {
  if (!existsSync(documentPath)) {
    console.error(`no such AsyncAPI document: ${documentPath}`);
    process.exit(1);
  }
  const { Parser, fromFile } = loadParser();
  const { document, diagnostics } = await fromFile(new Parser(), documentPath).parse();
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const diagnostic of diagnostics.filter((d) => d.severity <= 1)) {
    console.error(describe(diagnostic));
  }
  if (errors.length > 0 || document === undefined) {
    console.error(`${documentPath}: invalid AsyncAPI document (${errors.length} error(s))`);
    process.exit(1);
  }
  const channels = document.channels().length;
  const messages = document.messages().length;
  const operations = document.operations().length;
  console.log(
    `${documentPath}: valid AsyncAPI ${document.version()}: ` +
      `${channels} channels, ${messages} messages, ${operations} operations`,
  );
}

await main();
