import fs from 'node:fs';
import { TERMINAL_IDS } from '../../../contract/terminal.js';

/**
 * The recording of an attempt's terminal `n`: terminal 1's is the attempt's recording itself, a further terminal's
 * sits beside it (`<id>.cast` → `<id>.t2.cast`), one asciicast file per terminal.
 */
export function terminalRecordingFile(mainFile: string, n: number): string {
  if (n === 1) return mainFile;
  const base = mainFile.endsWith('.cast') ? mainFile.slice(0, -'.cast'.length) : mainFile;
  return `${base}.t${n}.cast`;
}

/** The recordings of an attempt's terminals that exist on disk, with their terminal's number, terminal 1 first. */
export function existingRecordings(mainFile: string): { terminal: number; file: string }[] {
  return TERMINAL_IDS.map((terminal) => ({ terminal, file: terminalRecordingFile(mainFile, terminal) })).filter(
    ({ terminal, file }) => terminal === 1 || fs.existsSync(file),
  );
}
