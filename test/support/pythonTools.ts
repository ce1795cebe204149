/**
 * The Python tools the tests run for real (Ray, MLflow, NumPy), from the virtual environment that
 * `scripts/python-tools.sh` creates in $VIGIL_TOOLS_DIR/python (default .tools/python; `.ci/run` runs it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function pythonToolsDir(): string {
  return path.resolve(PROJECT_ROOT, process.env.VIGIL_TOOLS_DIR ?? '.tools', 'python');
}

/** Absolute path of a program in the tools environment (`python`, `ray`, `mlflow`); throws with the fix when missing. */
export function pythonTool(name: string): string {
  const file = path.join(pythonToolsDir(), 'bin', name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: run \`bash scripts/python-tools.sh\` (with the same VIGIL_TOOLS_DIR) to install the Python tools`);
  }
  return file;
}
