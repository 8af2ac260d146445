// Part of `npm run typecheck`: finds promises dropped on the floor. A statement that calls something returning a
// promise and neither awaits it, returns it, hands it on, marks it `void` (started on purpose, its errors handled
// inside) nor ends it with `.catch(handler)` loses the result's order and its errors: a database write that lands
// after the code that depends on it, a rejection that takes the process down. Also a filter/some/find callback that
// answers with a promise (always truthy), a promise compared or tested, a promise as a property value nobody asked a
// promise for (a JSON answer would carry {}), and expect(promise) without .resolves/.rejects. TypeScript reports none.
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function program(configPath) {
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  return ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
}

/**
 * Whether a value of `type` is a promise (or a union with one in it). Other thenables (Fastify's reply, which is
 * awaited only to send it) are not counted.
 */
function isThenable(checker, type) {
  if (type.isUnion()) return type.types.some((t) => isThenable(checker, t));
  const name = type.getSymbol()?.getName();
  return name === 'Promise' || name === 'PromiseLike';
}

function returnsPromise(checker, fn) {
  const signature = checker.getSignatureFromDeclaration(fn);
  return signature !== undefined && isThenable(checker, checker.getReturnTypeOfSignature(signature));
}

/** A promise, never undefined or null beside it. */
function isAlwaysPromise(checker, type) {
  if (type.isUnion() && type.types.some((t) => t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null))) return false;
  return isThenable(checker, type);
}

/** Array methods whose callback answers yes or no (or a sort order). */
const PREDICATES = new Set(['filter', 'some', 'every', 'find', 'findIndex', 'findLast', 'findLastIndex', 'sort', 'toSorted']);

const EQUALITY = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

/** `p.catch(handler)` and `p.then(onFulfilled, onRejected)` handle the rejection themselves. */
function handlesRejection(expr) {
  if (!ts.isCallExpression(expr) || !ts.isPropertyAccessExpression(expr.expression)) return false;
  const name = expr.expression.name.text;
  return (name === 'catch' && expr.arguments.length >= 1) || (name === 'then' && expr.arguments.length >= 2) || (name === 'finally' && handlesRejection(expr.expression.expression));
}

export function floatingPromises(configPath) {
  const prog = program(configPath);
  const checker = prog.getTypeChecker();
  const found = [];
  for (const file of prog.getSourceFiles()) {
    if (file.isDeclarationFile || !path.resolve(file.fileName).startsWith(root) || file.fileName.includes('node_modules')) continue;
    /** One finding: where, what kind, and the first line of the code. */
    const report = (node, what, width = 100) => {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
      found.push(`${path.relative(root, file.fileName)}:${line + 1}: ${what}${node.getText(file).split('\n')[0].slice(0, width)}`);
    };
    const visit = (node) => {
      // A predicate that answers with a promise: every element passes (a promise is truthy).
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && PREDICATES.has(node.expression.name.text)) {
        const fn = node.arguments[0];
        if (fn && (ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && returnsPromise(checker, fn)) {
          report(node, `a promise as the answer of ${node.expression.name.text}(): `);
        }
      }
      // expect(promise).toEqual(…): compares the promise object, not what it resolves to.
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'expect' && node.arguments[0]) {
        const matcher = ts.isPropertyAccessExpression(node.parent) ? node.parent.name.text : '';
        if (matcher !== 'resolves' && matcher !== 'rejects' && isThenable(checker, checker.getTypeAtLocation(node.arguments[0]))) {
          report(node, 'expect() of a promise: ');
        }
      }
      // promise === x, promise ?? x, !promise: always the same answer. Only a promise that is always there counts:
      // `!pending` and `map.get(k) ?? x` test whether one is, and two promises compared are compared on purpose.
      let operands = [];
      if (ts.isBinaryExpression(node) && EQUALITY.has(node.operatorToken.kind)) operands = [node.left, node.right];
      else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken) operands = [node.left];
      else if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) operands = [node.operand];
      const types = operands.map((o) => checker.getTypeAtLocation(o));
      if (types.filter((t) => isThenable(checker, t)).length === 1 && types.some((t) => isAlwaysPromise(checker, t))) {
        report(node, 'a promise tested or compared: ');
      }
      // { ...view(…) }: the promise's own (no) fields, not the value's.
      if (ts.isSpreadAssignment(node) && isThenable(checker, checker.getTypeAtLocation(node.expression))) {
        report(node, 'a promise spread: ');
      }
      // { invite: created(…) } where nothing asked for a promise: a JSON answer would carry {} in its place.
      if (ts.isPropertyAssignment(node) && ts.isCallExpression(node.initializer) && isAlwaysPromise(checker, checker.getTypeAtLocation(node.initializer))) {
        const expected = checker.getContextualType(node.initializer);
        if (!expected || !isThenable(checker, expected)) {
          report(node, 'a promise as a plain value: ');
        }
      }
      // An async callback where a function returning nothing is expected: whoever calls it drops its promise.
      if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && returnsPromise(checker, node)) {
        const expected = checker.getContextualType(node)?.getNonNullableType();
        const members = expected ? (expected.isUnion() ? expected.types : [expected]) : [];
        const signatures = members.flatMap((t) => t.getCallSignatures());
        // Promise#finally waits for what its callback returns, whatever its declared type says.
        const inFinally = ts.isCallExpression(node.parent) && ts.isPropertyAccessExpression(node.parent.expression) && node.parent.expression.name.text === 'finally';
        // An overloaded callee (Fastify's register) may take either kind: the contextual type is one overload's.
        const overloaded = ts.isCallExpression(node.parent) && checker.getTypeAtLocation(node.parent.expression).getCallSignatures().length > 1;
        if (!inFinally && !overloaded && signatures.length > 0 && signatures.every((sig) => checker.getReturnTypeOfSignature(sig).flags & ts.TypeFlags.Void)) {
          report(node, 'an async callback where nothing waits for it: ');
        }
      }
      if (ts.isExpressionStatement(node)) {
        let expr = node.expression;
        while (ts.isParenthesizedExpression(expr)) expr = expr.expression;
        if (ts.isCallExpression(expr) || ts.isNewExpression(expr)) {
          if (!handlesRejection(expr) && isThenable(checker, checker.getTypeAtLocation(expr))) {
            report(node, '', 120);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const configs = process.argv.slice(2).length ? process.argv.slice(2) : ['tsconfig.json', 'web/tsconfig.json'];
  const found = configs.flatMap((c) => floatingPromises(path.resolve(root, c)));
  for (const line of found) console.error(line);
  if (found.length) {
    console.error(`\n${found.length} promise(s) neither awaited nor handled: await them, or mark a deliberate background start with \`void\` (its errors handled inside).`);
    process.exit(1);
  }
}
