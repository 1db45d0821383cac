/**
 * Test helper: runs Debian's /usr/bin/python3 with python3-onnx and numpy, the independent
 * oracle for what an ONNX file holds. Tests that use it say "(needs python3-onnx)" and are
 * ignored when it is missing.
 *
 * @module
 */

const PYTHON = "/usr/bin/python3";

/** True when /usr/bin/python3 can import onnx and numpy. */
export const HAS_PYTHON_ONNX: boolean = (() => {
  try {
    const args = ["-c", "import onnx, numpy"];
    return new Deno.Command(PYTHON, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

/** Runs `script` with `args` (as `sys.argv[1:]`) and returns its stdout; throws on failure. */
export async function runPython(script: string, args: string[] = []): Promise<string> {
  const out = await new Deno.Command(PYTHON, { args: ["-c", script, ...args] }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`python3 failed: ${stderr.trim().split("\n").pop()}`);
  return new TextDecoder().decode(out.stdout);
}
