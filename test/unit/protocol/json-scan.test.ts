import t from "tap";
import { exceedsDepth, RawJson, scanJsonValue, scanMetKey, withMember } from "@bkg/protocol";

/** The scanner's verdict on a whole text: a value, then nothing but whitespace. */
function accepts(text: string, maxDepth = 1000): boolean {
  const end = scanJsonValue(text, 0, maxDepth);
  return end >= 0 && /^[ \t\n\r]*$/.test(text.slice(end));
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

t.test("valid JSON of every kind is accepted, with its end found exactly", async (t) => {
  const texts = [
    "0",
    "-0",
    "12.5e-3",
    "1E+2",
    "-1.0e10",
    '"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00"',
    '"ü🎉"',
    "true",
    "false",
    "null",
    "[]",
    "{}",
    ' [ 1 , { "a" : [ ] , "b" : { } } , "x" ] ',
    JSON.stringify({ id: 4711, user: "bench", tags: ["alpha", "beta"], values: [1, 2.5, -3e8], ok: true, nothing: null }),
  ];
  for (const text of texts) {
    t.ok(parses(text), `JSON.parse takes ${text}`);
    const end = scanJsonValue(text, 0, 1000);
    t.equal(end, text.trimEnd().length, `the value ${text} ends where its text does`);
  }
  t.equal(scanJsonValue('{"result":[1,2]},"x":1}', 10, 10), 15, "a scan from the middle stops after its value");
});

t.test("invalid JSON is refused", async (t) => {
  const texts = [
    "",
    " ",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "+1",
    "tru",
    "nul",
    "True",
    "'a'",
    '"a',
    '"\\x"',
    '"\\u12g4"',
    '"\t"',
    "[1,]",
    "[,1]",
    "{,}",
    '{"a"}',
    '{"a":}',
    '{"a":1,}',
    "{a:1}",
    '{"a" 1}',
    "[1 2]",
    "[",
    "{",
    "]",
    "NaN",
    "Infinity",
    "[1]]",
  ];
  for (const text of texts) {
    t.notOk(parses(text), `JSON.parse refuses ${JSON.stringify(text)}`);
    t.notOk(accepts(text), `the scanner refuses ${JSON.stringify(text)}`);
  }
});

/** Random JSON texts, then single-character damage to them: both verdicts must agree on every one. */
t.test("the scanner agrees with JSON.parse on 20,000 random and damaged texts", async (t) => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pieces = ["{", "}", "[", "]", ",", ":", '"', "\\", "\\u", "0", "1", "-", ".", "e", "+", " ", "\n", "t", "true", "null", "a", "\u0001", "é", "\\n", "fals"];
  const value = (d: number): unknown => {
    const k = rand(d > 3 ? 5 : 8);
    if (k === 0) return rand(2) === 0 ? rand(1000) - 500 : (rand(100000) - 50000) / 7;
    if (k === 1) return ["", 'a"b', "\\", "ü🎉", "\u0000\n", "x".repeat(rand(5))][rand(6)];
    if (k === 2) return [true, false, null][rand(3)];
    if (k === 3) return 1e21 * (rand(3) - 1);
    if (k === 4) return "s";
    if (k === 5) return Array.from({ length: rand(4) }, () => value(d + 1));
    return Object.fromEntries(Array.from({ length: rand(4) }, (_, i) => [["k", "_meta", "a\\b", ""][rand(4)] + i, value(d + 1)]));
  };
  let disagreements = 0;
  let accepted = 0;
  for (let n = 0; n < 20_000; n++) {
    let text = JSON.stringify(value(0), null, rand(3) === 0 ? 1 : undefined);
    if (n % 2 === 1) {
      const at = rand(text.length + 1);
      const cut = rand(3);
      text = text.slice(0, at) + (rand(4) === 0 ? "" : pieces[rand(pieces.length)]) + text.slice(at + cut);
    }
    const want = parses(text);
    if (want) accepted++;
    if (accepts(text) !== want) {
      disagreements++;
      if (disagreements <= 5) t.fail(`disagree on ${JSON.stringify(text)}: JSON.parse ${want}`);
    }
  }
  t.equal(disagreements, 0, "no text on which the two disagree");
  t.ok(accepted > 10_000 && accepted < 20_000, `both valid and invalid texts were tried (${accepted} valid)`);
});

t.test("nesting is bounded as exceedsDepth bounds it", async (t) => {
  for (const text of ["1", "[]", "{}", "[[1]]", '{"a":{"b":[{}]}}', '[1,[2,[3,[4]]],{"x":[[[]]]}]', "[[],[[]],[]]"]) {
    const value = JSON.parse(text);
    for (let max = 0; max <= 5; max++) {
      t.equal(scanJsonValue(text, 0, max) < 0, exceedsDepth(value, max), `${text} at a bound of ${max}`);
    }
  }
  const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
  t.equal(scanJsonValue(deep, 0, 128), -1, "5,000 levels are refused at 128, without a stack overflow");
  t.equal(scanJsonValue(deep, 0, 5000), deep.length, "and taken at 5,000");
});

t.test("a reserved member name is seen in the outermost object only, and any escaped name counts", async (t) => {
  const cases: [string, boolean][] = [
    ['{"a":1,"_meta":{}}', true],
    ['{"_meta":1}', true],
    ['{"a":{"_meta":1}}', false],
    ['{"a":"_meta"}', false],
    ['{"_met":1,"_metal":2}', false],
    ['{"\\u005fmeta":1}', true],
    ['{"a\\nb":1}', true],
    ['{"a":{"\\u005fmeta":1}}', false],
  ];
  for (const [text, met] of cases) {
    t.ok(scanJsonValue(text, 0, 10, "_meta") > 0, `${text} is valid`);
    t.equal(scanMetKey, met, `${text}: reserved name ${met ? "seen" : "not seen"}`);
  }
  scanJsonValue('{"_meta":1}', 0, 10);
  t.equal(scanMetKey, false, "not looked for when no name is given");
});

t.test("RawJson parses once, encodes as its value, and takes a member without parsing", async (t) => {
  const raw = new RawJson('{"a":[1,2]}', 128);
  t.same(raw.value(), { a: [1, 2] });
  t.equal(raw.value(), raw.value(), "parsed once");
  t.equal(JSON.stringify({ result: new RawJson(' [1, "x"] ', 128) }), '{"result":[1,"x"]}', "JSON.stringify encodes the value");
  t.same(JSON.parse(withMember(raw, "_meta", '{"deadline":5}')), { a: [1, 2], _meta: { deadline: 5 } });
  for (const empty of ["{}", "{ \n }"]) {
    t.same(JSON.parse(withMember(new RawJson(empty, 128), "_meta", "1")), { _meta: 1 }, `an empty object ${JSON.stringify(empty)}`);
  }
  t.same(JSON.parse(withMember(new RawJson('{"a":"}"} ', 128), "m", "2")), { a: "}", m: 2 }, "a brace inside a string and trailing space");
});
