// Line kinds of the unified diff opslab makes of a candidate's changes (createTwoFilesPatch sections and
// one-line notes): the review page and the HTML export colour lines with it.

export type DiffLineKind = 'file' | 'hunk' | 'add' | 'del' | 'context' | 'meta' | 'note';

/** Inside a hunk its header's line counts decide, so an added line that reads "++ x" is no file header. */
export function classifyDiff(lines: readonly string[]): DiffLineKind[] {
  const kinds: DiffLineKind[] = [];
  let oldLeft = 0;
  let newLeft = 0;
  for (const line of lines) {
    if (oldLeft > 0 || newLeft > 0) {
      if (line.startsWith('+') && newLeft > 0) {
        newLeft--;
        kinds.push('add');
        continue;
      }
      if (line.startsWith('-') && oldLeft > 0) {
        oldLeft--;
        kinds.push('del');
        continue;
      }
      if ((line.startsWith(' ') || line === '') && oldLeft > 0 && newLeft > 0) {
        oldLeft--;
        newLeft--;
        kinds.push('context');
        continue;
      }
      if (line.startsWith('\\')) {
        kinds.push('meta');
        continue;
      }
      oldLeft = 0;
      newLeft = 0;
    }
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (hunk) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      kinds.push('hunk');
    } else if (line.startsWith('+++ ') || line.startsWith('--- ') || /^={10,}$/.test(line) || line.startsWith('Index: ')) {
      kinds.push('file');
    } else if (line.startsWith('\\')) {
      kinds.push('meta');
    } else {
      kinds.push('note');
    }
  }
  return kinds;
}
