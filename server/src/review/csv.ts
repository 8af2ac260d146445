// CSV as spreadsheets read it: RFC 4180 quoting, CRLF line ends, and no cell that a spreadsheet would run as a
// formula. Pure: no I/O, no platform imports.

/**
 * One cell. A number is written as the number it is (the server's own scores and counts, which must stay numbers
 * a spreadsheet can sort and sum); null and undefined are an empty cell; a string is text, neutralised and quoted
 * as needed.
 */
export type CsvCell = string | number | null | undefined;

/** The line end RFC 4180 asks for. */
export const CSV_EOL = '\r\n';

/**
 * A byte-order mark for the start of the file: without it, Excel reads a UTF-8 CSV in the machine's legacy code
 * page and mangles every name with an accent. Parsers that do not expect it see it before the first header.
 */
export const CSV_BOM = '\uFEFF';

/**
 * A text cell that a spreadsheet could take for a formula (OWASP, "CSV Injection"): it starts with `=`, `+`, `-`,
 * `@`, a tab or a carriage return, or with one of those after leading whitespace (some spreadsheets trim it before
 * they look). Full-width `＝＋－＠` count too, as some spreadsheets fold them to their ASCII forms.
 */
const FORMULA_START = /^(?:[\t\r]|[\s\u00a0\u2000-\u200b\u3000\ufeff]*[=+\-@\uff1d\uff0b\uff0d\uff20])/;

/** A text cell made inert: a leading `'` before anything a spreadsheet could run, the text itself otherwise. */
export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** Quotes a field when RFC 4180 asks for it (a comma, a double quote, CR or LF in it), doubling inner quotes. */
export function quote(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/** One cell as it goes into the file. */
export function csvCell(cell: CsvCell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') {
    // Only finite numbers are numbers; anything else is written as the text it is, neutralised like any text.
    return Number.isFinite(cell) ? String(cell) : quote(neutralise(String(cell)));
  }
  return quote(neutralise(cell));
}

/** One record, with its line end. */
export function csvRow(cells: readonly CsvCell[]): string {
  return cells.map(csvCell).join(',') + CSV_EOL;
}

/**
 * Reads CSV back (RFC 4180: quoted fields, doubled quotes, CR/LF inside quotes, CRLF or LF line ends), for tests
 * and tools that check what an export wrote. A leading byte-order mark is skipped.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.startsWith(CSV_BOM) ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') (field += '"'), i++;
      else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      (row = []), (field = '');
    } else field += c;
  }
  if (field !== '' || row.length > 0) (row.push(field), rows.push(row));
  return rows;
}
