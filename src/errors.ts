/**
 * Error helpers shared by every module.
 *
 * @module
 */

/** The message of any thrown value: an Error's message, or the value as a string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
