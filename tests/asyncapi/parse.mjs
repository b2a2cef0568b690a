// Parse AsyncAPI documents with the AsyncAPI Initiative's own parser (@asyncapi/parser: validation against the
// @asyncapi/specs JSON Schemas, bindings included, $ref resolution and the Spectral-based AsyncAPI ruleset) and
// print every diagnostic as JSON on stdout:
//   {"documents": [{"file", "parsed", "diagnostics": [{code, severity, severityName, message, path, line}]}]}
// severity is Spectral's DiagnosticSeverity: 0 error, 1 warning, 2 information, 3 hint.
// Used by tests/test_asyncapi.py; by hand: node tests/asyncapi/parse.mjs deploy/asyncapi.yaml
import { Parser, fromFile } from '@asyncapi/parser';

const NAMES = ['error', 'warning', 'information', 'hint'];
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node parse.mjs FILE...');
  process.exit(2);
}
const parser = new Parser();
const documents = [];
for (const file of files) {
  const { document, diagnostics } = await fromFile(parser, file).parse();
  documents.push({
    file,
    parsed: document !== undefined,
    diagnostics: diagnostics.map((d) => ({
      code: String(d.code),
      severity: d.severity,
      severityName: NAMES[d.severity] ?? String(d.severity),
      message: d.message,
      path: (d.path || []).join('.'),
      line: d.range ? d.range.start.line + 1 : null,
    })),
  });
}
process.stdout.write(JSON.stringify({ documents }, null, 1) + '\n');
