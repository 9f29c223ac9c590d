/**
 * `text` made safe to print in a one-line error message: control characters (C0, DEL, C1, the
 * line/paragraph separators) become `\xNN` / `\uNNNN` escapes, so bytes read from a corrupt or
 * hostile file cannot move the cursor, clear the terminal or forge extra log lines; at most
 * `max` characters are kept (then `…`).
 *
 * @example
 * ```ts
 * printable('step-1\x1b[2J'); // 'step-1\\x1b[2J'
 * ```
 */
export function printable(text: string, max = 300): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}
