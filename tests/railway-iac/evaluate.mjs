// Evaluate a rendered .railway/railway.ts as the Railway CLI does and print the project definition as JSON.
// What the CLI does (railwayapp/cli@df3838bf src/iac/eval.rs:162-193, read): import the file as an ES module,
// call its default export with {} and print what it returns; railway/iac resolves from the nearest node_modules.
// Run by tests/test_railway_render.py with node --experimental-strip-types (Node >= 22.6, as the CLI) or, on an
// older Node, with tsx's loader (`node --import tsx`), which strips the same type syntax.
import { pathToFileURL } from "node:url";

const mod = await import(pathToFileURL(process.argv[2]).href);
const program = mod.default;
const definition = typeof program === "function" ? await program({}) : program;
process.stdout.write(JSON.stringify(definition));
