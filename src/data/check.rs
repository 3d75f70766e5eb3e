//! CHECK constraints read as rules a data generator can satisfy.
//!
//! The catalog readers keep a check's condition as the server prints it ([`crate::schema::Check`]):
//! PostgreSQL's deparse (`price >= 0::numeric`, `status::text = ANY (ARRAY['new'::character
//! varying, 'paid'::character varying]::text[])`, `qty > 0 AND qty <= 100`) and MySQL/MariaDB's
//! normalised form (`` `price` >= 0 ``, `` `status` in ('new','paid') ``, `` `qty` between 1 and
//! 100 ``). A generator that must write rows the table accepts needs those conditions as something
//! it can act on. [`parse`] reads the usual shapes (a column against a literal, a list of allowed
//! values, two columns compared, bounds on a length, `IS NOT NULL`, all joined by `AND`) into
//! [`Rule`]s, and gives up with `None` on anything else rather than guess: a rule list comes back
//! only when satisfying every rule satisfies the whole check. [`columns`] names the columns any
//! check mentions, so a caller can say which columns a check it cannot honour involves.
//!
//! Both are pure functions of the text. The dialect is told from the text itself: back-quoted
//! identifiers exist only in MySQL, whose strings also take backslash escapes and whose unquoted
//! words are never columns (its catalog reader back-quotes every identifier); anything else reads
//! as PostgreSQL, where a backslash in a string is an ordinary character (unless `E'…'`). The
//! optional `CHECK (…)` wrapper of `pg_get_constraintdef` (with a trailing `NOT VALID`) is accepted
//! too, so text from elsewhere than the catalog reader reads the same.

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    /// `<>` or `!=`.
    Ne,
}

impl Op {
    /// The operator that says the same with its two sides swapped: `0 < x` is `x > 0`.
    fn swapped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            Op::Eq => Op::Eq,
            Op::Ne => Op::Ne,
        }
    }
}

/// A constant in a check, casts left out.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A number without a fractional part or exponent (`5`, `(0)::numeric`, `'-5'::integer`),
    /// whatever the column's type.
    Int(i64),
    /// A number with a fractional part or exponent (`0.5`, `'-0.5'::numeric`), or an integer too
    /// large for `i64`.
    Decimal(f64),
    /// A string, unquoted and unescaped. Dates and times stay strings (`'2020-01-01'::date`).
    Text(String),
    Bool(bool),
}

/// One condition of a check. As in SQL, a NULL value satisfies every rule but [`Rule::NotNull`]
/// (a check fails only when it is false, not when it is unknown).
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// `column op literal` (a literal on the left is turned around: `0 < x` → `x > 0`).
    Compare { column: String, op: Op, value: Literal },
    /// `column IN (...)`, `column = ANY (ARRAY[...])`.
    In { column: String, values: Vec<Literal> },
    /// `left op right`, two columns of the same row.
    Columns { left: String, op: Op, right: String },
    /// `length(column) op n`, `char_length(column) op n`, `octet_length` not included.
    /// `character_length` counts too. MySQL's `length` counts bytes, not characters; the two
    /// agree on ASCII text.
    Length { column: String, op: Op, value: i64 },
    /// `column IS NOT NULL`.
    NotNull { column: String },
}

/// The rules whose conjunction is the whole expression, or `None` when any part is beyond them
/// (OR, function calls other than length/char_length, arithmetic, regex, subexpressions...).
///
/// A bare column is a rule too: `active` is `active = true` on PostgreSQL (where it must be a
/// boolean) and `` `active` <> 0 `` on MySQL (where any non-zero value passes).
pub fn parse(expression: &str) -> Option<Vec<Rule>> {
    let lexed = lex(expression);
    if !lexed.complete {
        return None;
    }
    let toks = unwrap_check(&lexed.toks);
    let mut parser = Parser { toks, pos: 0, depth: 0, dialect: lexed.dialect };
    let node = parser.conjunction()?;
    // Whatever is left (`OR …`, `LIKE …`, `* 2`, a stray `)`) is something the rules cannot say.
    if parser.pos != toks.len() {
        return None;
    }
    parser.rules(node)
}

/// Every column name the expression mentions (identifiers outside string literals, unquoted,
/// excluding keywords, function names and type names after `::`), so a caller can say which columns
/// an unsupported check uses. Best effort, never panics.
///
/// Names come in order of first mention, each once. Unquoted PostgreSQL names are lowercased as
/// the server folds them; quoted ones keep their case. Qualifiers (`schema.`), type names after
/// `AS` (in `CAST`) and collation names after `COLLATE` are left out as well.
pub fn columns(expression: &str) -> Vec<String> {
    let lexed = lex(expression);
    let toks = unwrap_check(&lexed.toks);
    let word = |i: Option<usize>, w: &str| matches!(i.and_then(|i| toks.get(i)), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w));
    let sym = |i: usize, s: &str| matches!(toks.get(i), Some(Tok::Sym(x)) if *x == s);
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(tok) = toks.get(i) {
        let type_follows =
            matches!(tok, Tok::Sym("::")) || ["as", "collate"].iter().any(|k| word(Some(i), k));
        if type_follows {
            i = type_extent(toks, i + 1).map_or(i + 1, |(end, _)| end);
            continue;
        }
        let name = match tok {
            Tok::Quoted(name) => Some(name.clone()),
            // MySQL's reader back-quotes every identifier: its bare words are keywords and
            // functions.
            Tok::Word(w) if lexed.dialect == Dialect::Postgres => {
                let lower = w.to_lowercase();
                let prev = i.checked_sub(1);
                // `IS [NOT] TRUE`, `IS DISTINCT FROM`, `IS UNKNOWN`, …
                let after_is =
                    word(prev, "is") || (word(prev, "not") && word(i.checked_sub(2), "is"));
                // `AT TIME ZONE`: `at` and `zone` are unreserved, so they are column names
                // elsewhere.
                let time_zone = (lower == "at" && word(Some(i + 1), "time"))
                    || (lower == "zone" && word(prev, "time"));
                // A typed literal (`date '2020-01-01'`) or `ESCAPE '!'`.
                let before_string = matches!(toks.get(i + 1), Some(Tok::Str(_)));
                let keyword = KEYWORDS.contains(&lower.as_str());
                (!keyword && !after_is && !time_zone && !before_string).then_some(lower)
            }
            _ => None,
        };
        // A function's name (`lower(`) or a qualifier (`schema.f`) is no column.
        if let Some(name) = name
            && !sym(i + 1, "(")
            && !sym(i + 1, ".")
            && !names.contains(&name)
        {
            names.push(name);
        }
        i += 1;
    }
    names
}

// ---- tokens -------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An unquoted word (identifier, keyword, function or type name), as written.
    Word(String),
    /// A quoted identifier's name: `"Name"` (PostgreSQL) or `` `name` `` (MySQL).
    Quoted(String),
    /// A string literal's value, with its charset introducer dropped and escapes resolved.
    Str(String),
    /// An unsigned number as written: `5`, `0.5`, `1e3`.
    Num(String),
    /// Punctuation and the operators rules are made of.
    Sym(&'static str),
    /// Anything else (other operators, bit and hex literals). It is kept as a token so that it
    /// fails the parse rather than disappear.
    Other(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    Postgres,
    Mysql,
}

struct Lexed {
    toks: Vec<Tok>,
    dialect: Dialect,
    /// False when a string, quoted name or comment is not closed.
    complete: bool,
}

/// Symbols the parser understands, longest first so `<=` is not read as `<` `=`. Others (`<=>`,
/// `~~`, `||`, `->>`) come out as several tokens or as [`Tok::Other`], which no rule accepts.
const SYMBOLS: &[&str] =
    &["::", "<=", ">=", "<>", "!=", "(", ")", "[", "]", ",", ".", "=", "<", ">", "-", "+"];

fn lex(text: &str) -> Lexed {
    let (toks, complete, backquoted) = lex_as(text, Dialect::Postgres);
    // A backquote exists only in MySQL. Without one, an unclosed string in a text that has a
    // backslash is most likely MySQL's `'it\'s'`.
    if backquoted || (!complete && text.contains('\\')) {
        let (toks, complete, _) = lex_as(text, Dialect::Mysql);
        return Lexed { toks, dialect: Dialect::Mysql, complete };
    }
    Lexed { toks, dialect: Dialect::Postgres, complete }
}

/// The tokens of `text` read as `dialect`, whether everything quoted was closed, and whether a
/// back-quoted name was seen.
fn lex_as(text: &str, dialect: Dialect) -> (Vec<Tok>, bool, bool) {
    let mysql = dialect == Dialect::Mysql;
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut complete = true;
    let mut backquoted = false;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        // MySQL's `--` starts a comment only before a space (`--5` is minus minus five).
        let dash_comment = c == '-'
            && next == Some('-')
            && (!mysql || chars.get(i + 2).is_none_or(|c| c.is_whitespace()));
        if c.is_whitespace() {
            i += 1;
        } else if dash_comment || (mysql && c == '#') {
            while chars.get(i).is_some_and(|&c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let end = (i + 2..chars.len().saturating_sub(1))
                .find(|&k| chars[k] == '*' && chars[k + 1] == '/');
            complete &= end.is_some();
            i = end.map_or(chars.len(), |k| k + 2);
        } else if c == '\'' || (mysql && c == '"') {
            let (value, closed) = quoted(&chars, &mut i, c, mysql);
            complete &= closed;
            toks.push(Tok::Str(value));
        } else if c == '"' || c == '`' {
            backquoted |= c == '`';
            let (name, closed) = quoted(&chars, &mut i, c, false);
            complete &= closed;
            toks.push(Tok::Quoted(name));
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            toks.push(number(&chars, &mut i));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|&c| c.is_alphanumeric() || c == '_' || c == '$') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if chars.get(i) == Some(&'\'') {
                let lower = word.to_lowercase();
                // A charset introducer (`_utf8mb4'x'`) or a national string (`N'x'`): the string
                // alone, read on the next turn.
                if lower.starts_with('_') || lower == "n" {
                    continue;
                }
                // PostgreSQL's escape string `E'a\nb'`, or a bit or hex string (no rule's).
                let escapes = lower == "e" && !mysql;
                if escapes || lower == "b" || lower == "x" {
                    let (value, closed) = quoted(&chars, &mut i, '\'', escapes);
                    complete &= closed;
                    toks.push(if escapes { Tok::Str(value) } else { Tok::Other(word) });
                    continue;
                }
            }
            toks.push(Tok::Word(word));
        } else if let Some(sym) = SYMBOLS
            .iter()
            .find(|s| s.chars().enumerate().all(|(k, sc)| chars.get(i + k) == Some(&sc)))
        {
            i += sym.len();
            toks.push(Tok::Sym(sym));
        } else {
            i += 1;
            toks.push(Tok::Other(c.to_string()));
        }
    }
    (toks, complete, backquoted)
}

/// Reads a quoted string or name that opens at `chars[*i]`: doubled quotes stand for one, and
/// with `backslash` a backslash escapes the next character (MySQL, `E'…'`). Returns the content
/// and whether the closing quote was found; `*i` ends past it.
fn quoted(chars: &[char], i: &mut usize, quote: char, backslash: bool) -> (String, bool) {
    let mut out = String::new();
    *i += 1;
    while let Some(&c) = chars.get(*i) {
        if c == quote {
            if chars.get(*i + 1) == Some(&quote) {
                out.push(quote);
                *i += 2;
                continue;
            }
            *i += 1;
            return (out, true);
        }
        if backslash && c == '\\' {
            match chars.get(*i + 1) {
                Some(&escaped) => unescape(&mut out, escaped),
                None => out.push('\\'),
            }
            *i += 2;
            continue;
        }
        out.push(c);
        *i += 1;
    }
    (out, false)
}

/// Appends what `\c` stands for, after MySQL's table of escapes.
fn unescape(out: &mut String, c: char) {
    match c {
        'n' => out.push('\n'),
        't' => out.push('\t'),
        'r' => out.push('\r'),
        'b' => out.push('\x08'),
        '0' => out.push('\0'),
        'Z' => out.push('\x1a'),
        // Kept escaped so a LIKE pattern still means a literal `%` or `_`.
        '%' | '_' => {
            out.push('\\');
            out.push(c);
        }
        c => out.push(c),
    }
}

/// Reads a number that starts at `chars[*i]`: digits, an optional fraction, an optional
/// exponent. Something glued to it (`0x1f`, `1_000`, `12abc`) makes it [`Tok::Other`].
fn number(chars: &[char], i: &mut usize) -> Tok {
    let start = *i;
    let digits = |i: &mut usize| {
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
    };
    digits(i);
    if chars.get(*i) == Some(&'.') {
        *i += 1;
        digits(i);
    }
    if matches!(chars.get(*i), Some('e' | 'E')) {
        let sign = usize::from(matches!(chars.get(*i + 1), Some('+' | '-')));
        if chars.get(*i + 1 + sign).is_some_and(char::is_ascii_digit) {
            *i += 1 + sign;
            digits(i);
        }
    }
    let glued = |c: &char| c.is_alphanumeric() || *c == '_' || *c == '.';
    if chars.get(*i).is_some_and(glued) {
        while chars.get(*i).is_some_and(glued) {
            *i += 1;
        }
        return Tok::Other(chars[start..*i].iter().collect());
    }
    Tok::Num(chars[start..*i].iter().collect())
}

/// PostgreSQL words that are never a column name when bare: its reserved keywords and those it
/// quotes when they name a column (`time`, `between`), as far as an expression can hold them.
/// Unreserved ones (`value`, `zone`, `escape`, `at`) are printed bare when they name a column, so
/// they are not listed; [`columns`] tells them apart by their neighbours.
const KEYWORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "as",
    "asymmetric",
    "between",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "constraint",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "distinct",
    "else",
    "end",
    "exists",
    "false",
    "from",
    "ilike",
    "in",
    "interval",
    "is",
    "isnull",
    "leading",
    "like",
    "localtime",
    "localtimestamp",
    "not",
    "notnull",
    "null",
    "or",
    "overlaps",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "true",
    "user",
    "when",
];

/// Words that continue a type name: `character varying`, `double precision`, `timestamp without
/// time zone`.
const TYPE_WORDS: &[&str] = &["varying", "precision", "with", "without", "time", "zone"];

/// Types a string literal cast to which is a number: `'-5'::integer`, `'-0.5'::numeric`.
const NUMERIC_TYPES: &[&str] = &[
    "smallint", "integer", "int", "int2", "int4", "int8", "bigint", "numeric", "decimal", "real",
    "float", "float4", "float8", "double",
];

/// The type name that starts at `toks[start]` (after `::`, `AS` or `COLLATE`): where it ends and
/// its name, lowercased when unquoted. Takes a schema (`public.mood`), the words of a multi-word
/// name, a modifier (`(10,2)`) and array brackets (`[]`).
fn type_extent(toks: &[Tok], start: usize) -> Option<(usize, String)> {
    let name = |t: Option<&Tok>| match t {
        Some(Tok::Word(w)) => Some(w.to_lowercase()),
        Some(Tok::Quoted(q)) => Some(q.clone()),
        _ => None,
    };
    let mut ty = name(toks.get(start))?;
    let mut i = start + 1;
    while toks.get(i) == Some(&Tok::Sym("."))
        && let Some(part) = name(toks.get(i + 1))
    {
        ty = part;
        i += 2;
    }
    let type_words = |i: &mut usize| {
        while matches!(toks.get(*i), Some(Tok::Word(w))
            if TYPE_WORDS.iter().any(|t| w.eq_ignore_ascii_case(t)))
        {
            *i += 1;
        }
    };
    type_words(&mut i);
    if toks.get(i) == Some(&Tok::Sym("(")) {
        let mut k = i + 1;
        while matches!(toks.get(k), Some(Tok::Num(_) | Tok::Sym(","))) {
            k += 1;
        }
        if toks.get(k) == Some(&Tok::Sym(")")) {
            i = k + 1;
            // `timestamp(3) with time zone`
            type_words(&mut i);
        }
    }
    while toks.get(i) == Some(&Tok::Sym("[")) {
        let k = i + 1 + usize::from(matches!(toks.get(i + 1), Some(Tok::Num(_))));
        if toks.get(k) != Some(&Tok::Sym("]")) {
            break;
        }
        i = k + 1;
    }
    Some((i, ty))
}

/// The condition inside `pg_get_constraintdef`'s `CHECK (…)`, which may be followed by `NOT
/// VALID`, `NO INHERIT` or `NOT ENFORCED`; the tokens as they are when there is no such wrapper.
fn unwrap_check(toks: &[Tok]) -> &[Tok] {
    let is_word = |t: &Tok, w: &str| matches!(t, Tok::Word(x) if x.eq_ignore_ascii_case(w));
    if !(toks.first().is_some_and(|t| is_word(t, "check")) && toks.get(1) == Some(&Tok::Sym("("))) {
        return toks;
    }
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(1) {
        match t {
            Tok::Sym("(") => depth += 1,
            Tok::Sym(")") => {
                depth -= 1;
                if depth == 0 {
                    let suffix = ["not", "valid", "no", "inherit", "enforced"];
                    let rest = &toks[i + 1..];
                    let only_flags = rest.iter().all(|t| suffix.iter().any(|w| is_word(t, w)));
                    return if only_flags { &toks[2..i] } else { toks };
                }
            }
            _ => {}
        }
    }
    toks
}

// ---- parser -------------------------------------------------------------------------------------

/// A constant while parsing: integers are wide enough that `-9223372036854775808` is read as its
/// digits and then negated.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Int(i128),
    Dec(f64),
    Text(String),
    Bool(bool),
}

impl Value {
    fn negated(self) -> Option<Value> {
        match self {
            Value::Int(n) => n.checked_neg().map(Value::Int),
            Value::Dec(f) => Some(Value::Dec(-f)),
            Value::Text(_) | Value::Bool(_) => None,
        }
    }

    fn into_literal(self) -> Literal {
        match self {
            // Past i64 the nearest f64 is as close as a generator can get anyway.
            Value::Int(n) => i64::try_from(n).map_or(Literal::Decimal(n as f64), Literal::Int),
            Value::Dec(f) => Literal::Decimal(f),
            Value::Text(s) => Literal::Text(s),
            Value::Bool(b) => Literal::Bool(b),
        }
    }
}

/// The value of an unsigned number as the lexer read it.
fn number_value(text: &str) -> Option<Value> {
    if text.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = text.parse::<i128>()
    {
        return Some(Value::Int(n));
    }
    text.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Dec)
}

/// The number a string cast to a numeric type holds: PostgreSQL prints negative constants as
/// `'-5'::integer`. `None` for anything that is not a plain number (`'NaN'::numeric`).
fn string_number(text: &str) -> Option<Value> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if !digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let value = number_value(digits)?;
    if negative { value.negated() } else { Some(value) }
}

/// What a piece of the expression turned out to be.
enum Node {
    /// A condition, as the rules whose conjunction it is.
    Rules(Vec<Rule>),
    /// A value a condition compares.
    Operand(Operand),
}

#[derive(Clone)]
enum Operand {
    Column(String),
    Value(Value),
    /// `length(column)`, `char_length(column)`.
    Length(String),
}

/// Nesting beyond this gives up, so that a hostile `((((…` cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// A recursive-descent reader of the subset of SQL that rules can say. It never backtracks: the
/// first thing it does not understand ends the parse with `None`.
struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    depth: usize,
    dialect: Dialect,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn at_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(t)) if *t == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        let hit = self.at_sym(s);
        self.pos += usize::from(hit);
        hit
    }

    fn expect_sym(&mut self, s: &str) -> Option<()> {
        self.eat_sym(s).then_some(())
    }

    fn at_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(t)) if t.eq_ignore_ascii_case(w))
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let hit = self.at_word(w);
        self.pos += usize::from(hit);
        hit
    }

    fn expect_word(&mut self, w: &str) -> Option<()> {
        self.eat_word(w).then_some(())
    }

    /// `predicate (AND predicate)*`, flattened. A lone predicate may be an operand (the `0` of
    /// `(0)::numeric`, a bare boolean column); joined by AND, each must be a condition.
    fn conjunction(&mut self) -> Option<Node> {
        let first = self.predicate()?;
        if !self.at_word("and") {
            return Some(first);
        }
        let mut rules = self.rules(first)?;
        while self.eat_word("and") {
            let next = self.predicate()?;
            rules.extend(self.rules(next)?);
        }
        Some(Node::Rules(rules))
    }

    /// A node in a place where a condition is expected.
    fn rules(&self, node: Node) -> Option<Vec<Rule>> {
        match node {
            Node::Rules(rules) => Some(rules),
            // A column alone is true when PostgreSQL's boolean is true, when MySQL's number is not
            // zero.
            Node::Operand(Operand::Column(column)) => Some(vec![match self.dialect {
                Dialect::Postgres => {
                    Rule::Compare { column, op: Op::Eq, value: Literal::Bool(true) }
                }
                Dialect::Mysql => Rule::Compare { column, op: Op::Ne, value: Literal::Int(0) },
            }]),
            Node::Operand(Operand::Value(Value::Bool(true))) => Some(Vec::new()),
            Node::Operand(_) => None,
        }
    }

    /// A term, then what may follow an operand: a comparison (with `ANY`), `BETWEEN`, `IN`,
    /// `IS NOT NULL`. Anything else after it (`NOT IN`, `LIKE`, `~`, `+`) is left for the caller,
    /// which fails on it.
    fn predicate(&mut self) -> Option<Node> {
        let left = match self.term()? {
            Node::Operand(operand) => operand,
            rules => return Some(rules),
        };
        if let Some(op) = self.comparison() {
            if self.at_word("any") || self.at_word("some") || self.at_word("all") {
                // `= ANY` is IN; `<> ALL` is NOT IN and `>= ANY` a bound on one element, neither
                // of which a rule says.
                let any = !self.at_word("all");
                self.pos += 1;
                self.expect_sym("(")?;
                let values = self.array()?;
                self.expect_sym(")")?;
                return match left {
                    Operand::Column(column) if any && op == Op::Eq => {
                        Some(Node::Rules(vec![Rule::In { column, values }]))
                    }
                    _ => None,
                };
            }
            let right = self.operand()?;
            return Some(Node::Rules(vec![compare(left, op, right)?]));
        }
        if self.eat_word("between") {
            // ASYMMETRIC is what BETWEEN means anyway; SYMMETRIC fails below as a keyword.
            self.eat_word("asymmetric");
            let low = self.operand()?;
            self.expect_word("and")?;
            let high = self.operand()?;
            let rules = vec![compare(left.clone(), Op::Ge, low)?, compare(left, Op::Le, high)?];
            return Some(Node::Rules(rules));
        }
        if self.eat_word("in") {
            let Operand::Column(column) = left else { return None };
            self.expect_sym("(")?;
            let mut values = vec![self.literal()?];
            while self.eat_sym(",") {
                values.push(self.literal()?);
            }
            self.expect_sym(")")?;
            return Some(Node::Rules(vec![Rule::In { column, values }]));
        }
        if self.eat_word("is") {
            self.expect_word("not")?;
            self.expect_word("null")?;
            let Operand::Column(column) = left else { return None };
            return Some(Node::Rules(vec![Rule::NotNull { column }]));
        }
        Some(Node::Operand(left))
    }

    fn comparison(&mut self) -> Option<Op> {
        let op = match self.peek()? {
            Tok::Sym("<") => Op::Lt,
            Tok::Sym("<=") => Op::Le,
            Tok::Sym(">") => Op::Gt,
            Tok::Sym(">=") => Op::Ge,
            Tok::Sym("=") => Op::Eq,
            Tok::Sym("<>" | "!=") => Op::Ne,
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    fn operand(&mut self) -> Option<Operand> {
        match self.term()? {
            Node::Operand(operand) => Some(operand),
            Node::Rules(_) => None,
        }
    }

    /// A constant (an element of `IN (…)` or `ARRAY[…]`); NULL is none.
    fn literal(&mut self) -> Option<Literal> {
        match self.operand()? {
            Operand::Value(value) => Some(value.into_literal()),
            Operand::Column(_) | Operand::Length(_) => None,
        }
    }

    /// A parenthesised conjunction, a signed number, a constant, a column or a length, then any
    /// casts, which change nothing but a string cast to a number type.
    fn term(&mut self) -> Option<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let toks = self.toks;
        let mut node = match toks.get(self.pos)? {
            Tok::Sym("(") => {
                self.pos += 1;
                let inner = self.conjunction()?;
                self.expect_sym(")")?;
                inner
            }
            // `-5`, `- 5`, `-(5)`, `(- 5)`, `- '5'::integer`: a sign goes with a number only.
            Tok::Sym(sign @ ("-" | "+")) => {
                self.pos += 1;
                let Node::Operand(Operand::Value(value @ (Value::Int(_) | Value::Dec(_)))) =
                    self.term()?
                else {
                    return None;
                };
                let value = if *sign == "-" { value.negated()? } else { value };
                Node::Operand(Operand::Value(value))
            }
            Tok::Num(n) => {
                self.pos += 1;
                Node::Operand(Operand::Value(number_value(n)?))
            }
            Tok::Str(s) => {
                self.pos += 1;
                Node::Operand(Operand::Value(Value::Text(s.clone())))
            }
            Tok::Quoted(name) => {
                self.pos += 1;
                // `"f"(x)` is a call, `"s".x` qualified: neither is a column of this row.
                if self.at_sym("(") || self.at_sym(".") {
                    return None;
                }
                Node::Operand(Operand::Column(name.clone()))
            }
            Tok::Word(word) => {
                self.pos += 1;
                let lower = word.to_lowercase();
                let length =
                    matches!(lower.as_str(), "length" | "char_length" | "character_length");
                match lower.as_str() {
                    "true" => Node::Operand(Operand::Value(Value::Bool(true))),
                    "false" => Node::Operand(Operand::Value(Value::Bool(false))),
                    _ if length && self.eat_sym("(") => {
                        let Operand::Column(column) = self.operand()? else { return None };
                        self.expect_sym(")")?;
                        Node::Operand(Operand::Length(column))
                    }
                    _ if self.dialect == Dialect::Mysql
                        || KEYWORDS.contains(&lower.as_str())
                        || self.at_sym("(")
                        || self.at_sym(".")
                        || matches!(self.peek(), Some(Tok::Str(_))) =>
                    {
                        return None;
                    }
                    // PostgreSQL folds a bare name to lower case.
                    _ => Node::Operand(Operand::Column(lower)),
                }
            }
            Tok::Sym(_) | Tok::Other(_) => return None,
        };
        while self.eat_sym("::") {
            let (end, ty) = type_extent(self.toks, self.pos)?;
            self.pos = end;
            node = match node {
                // `(a > b)::integer` is arithmetic on a condition.
                Node::Rules(_) => return None,
                Node::Operand(Operand::Value(Value::Text(s)))
                    if NUMERIC_TYPES.contains(&ty.as_str()) =>
                {
                    Node::Operand(Operand::Value(string_number(&s)?))
                }
                operand => operand,
            };
        }
        self.depth -= 1;
        Some(node)
    }

    /// `ARRAY[…]` of constants, maybe parenthesised and cast:
    /// `(ARRAY['a'::character varying, 'b'::character varying])::text[]`.
    fn array(&mut self) -> Option<Vec<Literal>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let values = if self.eat_sym("(") {
            let values = self.array()?;
            self.expect_sym(")")?;
            values
        } else {
            self.expect_word("array")?;
            self.expect_sym("[")?;
            let mut values = vec![self.literal()?];
            while self.eat_sym(",") {
                values.push(self.literal()?);
            }
            self.expect_sym("]")?;
            values
        };
        while self.eat_sym("::") {
            self.pos = type_extent(self.toks, self.pos)?.0;
        }
        self.depth -= 1;
        Some(values)
    }
}

/// `left op right` as a rule, when it is one: a column against a constant (either way round),
/// two columns, or a length against an integer.
fn compare(left: Operand, op: Op, right: Operand) -> Option<Rule> {
    use Operand::{Column, Length, Value as Const};
    match (left, right) {
        (Column(column), Const(value)) => {
            Some(Rule::Compare { column, op, value: value.into_literal() })
        }
        (Const(value), Column(column)) => {
            Some(Rule::Compare { column, op: op.swapped(), value: value.into_literal() })
        }
        (Column(left), Column(right)) => Some(Rule::Columns { left, op, right }),
        (Length(column), Const(Value::Int(n))) => {
            Some(Rule::Length { column, op, value: i64::try_from(n).ok()? })
        }
        (Const(Value::Int(n)), Length(column)) => {
            Some(Rule::Length { column, op: op.swapped(), value: i64::try_from(n).ok()? })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Literal::{Bool, Decimal, Int, Text};
    use super::*;

    fn cmp(column: &str, op: Op, value: Literal) -> Rule {
        Rule::Compare { column: column.into(), op, value }
    }

    fn one_of(column: &str, values: Vec<Literal>) -> Rule {
        Rule::In { column: column.into(), values }
    }

    fn pair(left: &str, op: Op, right: &str) -> Rule {
        Rule::Columns { left: left.into(), op, right: right.into() }
    }

    fn len(column: &str, op: Op, value: i64) -> Rule {
        Rule::Length { column: column.into(), op, value }
    }

    fn not_null(column: &str) -> Rule {
        Rule::NotNull { column: column.into() }
    }

    fn text(s: &str) -> Literal {
        Text(s.into())
    }

    /// PostgreSQL texts, as `pg_get_expr(conbin, conrelid, true)` (what the catalog reader keeps)
    /// and `pg_get_constraintdef` print them; checked against PostgreSQL 15.
    #[test]
    fn postgres_checks_read_as_rules() {
        use Op::*;
        let status = || one_of("status", vec![text("new"), text("paid")]);
        let cases: Vec<(&str, Vec<Rule>)> = vec![
            ("price >= 0::numeric", vec![cmp("price", Ge, Int(0))]),
            ("CHECK ((price >= (0)::numeric))", vec![cmp("price", Ge, Int(0))]),
            (
                "status::text = ANY (ARRAY['new'::character varying, 'paid'::character varying]::text[])",
                vec![status()],
            ),
            (
                "CHECK (((status)::text = ANY ((ARRAY['new'::character varying, 'paid'::character varying])::text[])))",
                vec![status()],
            ),
            (
                "CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))",
                vec![one_of("status", vec![text("a"), text("b")])],
            ),
            (
                "ch = ANY (ARRAY['ab'::bpchar, 'cd'::bpchar])",
                vec![one_of("ch", vec![text("ab"), text("cd")])],
            ),
            ("ints = ANY (ARRAY[1, 2, 3])", vec![one_of("ints", vec![Int(1), Int(2), Int(3)])]),
            ("iin = ANY (ARRAY['-1'::integer, 0])", vec![one_of("iin", vec![Int(-1), Int(0)])]),
            (
                "CHECK ((di = ANY (ARRAY['-1.5'::numeric, (2)::numeric])))",
                vec![one_of("di", vec![Decimal(-1.5), Int(2)])],
            ),
            (
                "VALUE = ANY (ARRAY['a'::text, 'b'::text])",
                vec![one_of("value", vec![text("a"), text("b")])],
            ),
            ("ends_at > starts_at", vec![pair("ends_at", Gt, "starts_at")]),
            ("CHECK ((ends_at > starts_at))", vec![pair("ends_at", Gt, "starts_at")]),
            (
                "CHECK (((qty > 0) AND (qty <= 100)))",
                vec![cmp("qty", Gt, Int(0)), cmp("qty", Le, Int(100))],
            ),
            ("qty > 0 AND qty <= 100", vec![cmp("qty", Gt, Int(0)), cmp("qty", Le, Int(100))]),
            ("CHECK ((char_length(code) = 6))", vec![len("code", Eq, 6)]),
            ("length(name) > 0", vec![len("name", Gt, 0)]),
            ("CHECK ((length((vc)::text) > 0))", vec![len("vc", Gt, 0)]),
            ("character_length(chl) <= 3", vec![len("chl", Le, 3)]),
            (
                "char_length(vc2::text) >= 2 AND char_length(vc2::text) <= 10",
                vec![len("vc2", Ge, 2), len("vc2", Le, 10)],
            ),
            ("8 >= LENGTH(code)", vec![len("code", Le, 8)]),
            (
                "CHECK ((discount >= 0::numeric AND discount <= 1::numeric))",
                vec![cmp("discount", Ge, Int(0)), cmp("discount", Le, Int(1))],
            ),
            (
                "CHECK (((discount >= (0)::numeric) AND (discount <= (1)::numeric)))",
                vec![cmp("discount", Ge, Int(0)), cmp("discount", Le, Int(1))],
            ),
            (
                "CHECK ((rating >= 1 AND rating <= 5))",
                vec![cmp("rating", Ge, Int(1)), cmp("rating", Le, Int(5))],
            ),
            (
                "btw >= 0.5 AND btw <= 1.5",
                vec![cmp("btw", Ge, Decimal(0.5)), cmp("btw", Le, Decimal(1.5))],
            ),
            ("\"dec\" <= 0.5", vec![cmp("dec", Le, Decimal(0.5))]),
            ("CHECK ((f > (1.5)::double precision))", vec![cmp("f", Gt, Decimal(1.5))]),
            ("neg >= '-5'::integer", vec![cmp("neg", Ge, Int(-5))]),
            ("dec2 >= '-0.5'::numeric", vec![cmp("dec2", Ge, Decimal(-0.5))]),
            ("bi > '-9223372036854775808'::bigint", vec![cmp("bi", Gt, Int(i64::MIN))]),
            ("big < '10000000000'::bigint", vec![cmp("big", Lt, Int(10_000_000_000))]),
            ("x < 99999999999999999999", vec![cmp("x", Lt, Decimal(1e20))]),
            (
                "x >= 1e3 AND x < 5. AND x > .5",
                vec![
                    cmp("x", Ge, Decimal(1000.0)),
                    cmp("x", Lt, Decimal(5.0)),
                    cmp("x", Gt, Decimal(0.5)),
                ],
            ),
            ("0 < lit", vec![cmp("lit", Gt, Int(0))]),
            ("CHECK (((+ 5) < pos))", vec![cmp("pos", Gt, Int(5))]),
            (
                "(- 5) <= x AND x > -5 AND x <> -(5) AND x >= - 0.5",
                vec![
                    cmp("x", Ge, Int(-5)),
                    cmp("x", Gt, Int(-5)),
                    cmp("x", Ne, Int(-5)),
                    cmp("x", Ge, Decimal(-0.5)),
                ],
            ),
            ("\"Mixed Name\" > 0", vec![cmp("Mixed Name", Gt, Int(0))]),
            ("\"UP\" >= 0 AND \"UP\" <= up", vec![cmp("UP", Ge, Int(0)), pair("UP", Le, "up")]),
            ("q2 <> 'it''s'::text", vec![cmp("q2", Ne, text("it's"))]),
            // standard_conforming_strings: a backslash is itself.
            ("bs <> 'a\\b'::text", vec![cmp("bs", Ne, text("a\\b"))]),
            ("e <> E'a\\\\b\\'c'", vec![cmp("e", Ne, text("a\\b'c"))]),
            ("CHECK (((vc3)::text <> ''::text))", vec![cmp("vc3", Ne, text(""))]),
            ("q != ''", vec![cmp("q", Ne, text(""))]),
            ("nn IS NOT NULL", vec![not_null("nn")]),
            ("nn is not null and nn <> ''", vec![not_null("nn"), cmp("nn", Ne, text(""))]),
            ("b = true", vec![cmp("b", Eq, Bool(true))]),
            ("CHECK ((bf = FALSE))", vec![cmp("bf", Eq, Bool(false))]),
            ("CHECK (b2)", vec![cmp("b2", Eq, Bool(true))]),
            ("true", vec![]),
            (
                "CHECK (((nested > 0) AND ((nested < 10) AND (nested <> 5))))",
                vec![
                    cmp("nested", Gt, Int(0)),
                    cmp("nested", Lt, Int(10)),
                    cmp("nested", Ne, Int(5)),
                ],
            ),
            ("((((x > 0))))", vec![cmp("x", Gt, Int(0))]),
            ("dt > '2020-01-01'::date", vec![cmp("dt", Gt, text("2020-01-01"))]),
            (
                "ts > '2020-01-01 00:00:00+00'::timestamp with time zone AND ts3 < '2030-01-01'::timestamp(3) without time zone",
                vec![
                    cmp("ts", Gt, text("2020-01-01 00:00:00+00")),
                    cmp("ts3", Lt, text("2030-01-01")),
                ],
            ),
            ("CHECK ((up > 0)) NOT VALID", vec![cmp("up", Gt, Int(0))]),
            ("x BETWEEN 1 AND 5", vec![cmp("x", Ge, Int(1)), cmp("x", Le, Int(5))]),
            (
                "Rating Between -1 And 5.5 AND y IS NOT NULL",
                vec![cmp("rating", Ge, Int(-1)), cmp("rating", Le, Decimal(5.5)), not_null("y")],
            ),
            ("x IN (1, -2, 'three')", vec![one_of("x", vec![Int(1), Int(-2), text("three")])]),
            (
                "status = ANY (ARRAY['x'::mood, 'y'::public.mood])",
                vec![one_of("status", vec![text("x"), text("y")])],
            ),
            (
                "x > 0 -- a comment\n AND /* and another */ x < 9",
                vec![cmp("x", Gt, Int(0)), cmp("x", Lt, Int(9))],
            ),
        ];
        for (expression, rules) in cases {
            assert_eq!(parse(expression), Some(rules), "{expression}");
        }
    }

    /// MySQL and MariaDB texts after the catalog reader's normalisation (back-quoted names,
    /// lowercase keywords, minimal parentheses, `''` in strings, backslashes escaped), and a few
    /// raw ones as MySQL prints them (every operation parenthesised, charset introducers, `\'`).
    #[test]
    fn mysql_checks_read_as_rules() {
        use Op::*;
        let cases: Vec<(&str, Vec<Rule>)> = vec![
            ("`price` >= 0", vec![cmp("price", Ge, Int(0))]),
            ("`status` in ('new','paid')", vec![one_of("status", vec![text("new"), text("paid")])]),
            ("`qty` between 1 and 100", vec![cmp("qty", Ge, Int(1)), cmp("qty", Le, Int(100))]),
            ("`ends_at` > `starts_at`", vec![pair("ends_at", Gt, "starts_at")]),
            ("char_length(`code`) = 6", vec![len("code", Eq, 6)]),
            ("length(`code`) <= 6", vec![len("code", Le, 6)]),
            ("`x` >= 0 and `x` <= 10", vec![cmp("x", Ge, Int(0)), cmp("x", Le, Int(10))]),
            (
                "((`score` >= 0) and (`score` < 1000))",
                vec![cmp("score", Ge, Int(0)), cmp("score", Lt, Int(1000))],
            ),
            (
                "`x` >= -5 and `x` > - 5 and `x` <> -(5)",
                vec![cmp("x", Ge, Int(-5)), cmp("x", Gt, Int(-5)), cmp("x", Ne, Int(-5))],
            ),
            ("`d` <= 0.50", vec![cmp("d", Le, Decimal(0.5))]),
            ("`name` <> ''", vec![cmp("name", Ne, text(""))]),
            ("`name` != ''", vec![cmp("name", Ne, text(""))]),
            ("`note` <> 'it''s'", vec![cmp("note", Ne, text("it's"))]),
            ("`path` <> 'a\\\\b'", vec![cmp("path", Ne, text("a\\b"))]),
            ("(`note` <> _utf8mb4'it\\'s')", vec![cmp("note", Ne, text("it's"))]),
            ("`s` in (_utf8mb4'a',_latin1'b')", vec![one_of("s", vec![text("a"), text("b")])]),
            ("`x` is not null", vec![not_null("x")]),
            ("`Mixed Case` > 0", vec![cmp("Mixed Case", Gt, Int(0))]),
            ("`weird``name` > 0", vec![cmp("weird`name", Gt, Int(0))]),
            ("`b` = true", vec![cmp("b", Eq, Bool(true))]),
            ("`active`", vec![cmp("active", Ne, Int(0))]),
            ("0 < `lit` AND `lit` < 10", vec![cmp("lit", Gt, Int(0)), cmp("lit", Lt, Int(10))]),
            // MySQL's `--` is a comment only before a space.
            (
                "`x` > --5 -- five\n and `x` < 9 # nine",
                vec![cmp("x", Gt, Int(5)), cmp("x", Lt, Int(9))],
            ),
        ];
        for (expression, rules) in cases {
            assert_eq!(parse(expression), Some(rules), "{expression}");
        }
    }

    #[test]
    fn what_rules_cannot_say_is_none() {
        let deep = format!("{}x > 0{}", "(".repeat(100_000), ")".repeat(100_000));
        let unsupported = [
            "ors = 1 OR ors = 2",
            "CHECK (((nb < 1) OR (nb > 2)))",
            "`a` > 0 or `b` > 0",
            "`a` > 0 xor `b` > 0",
            "x > 0 AND (y > 0 OR z > 0)",
            "a >= ALL (ARRAY[1, 2])",
            "a >= ANY (ARRAY[1, 2])",
            "a = ALL (ARRAY[1, 2])",
            "nin <> ALL (ARRAY[1, 2])",
            "x = ANY ('{a,b}'::text[])",
            "x NOT IN (1, 2)",
            "`x` not in (1,2)",
            "x IN (1, y)",
            "nb NOT BETWEEN 1 AND 2",
            "bw BETWEEN SYMMETRIC 5 AND 1",
            "lk ~~ 'a%'::text",
            "`k` like 'a%'",
            "re ~ '^[a-z]+$'::text",
            "`e` regexp '^a'",
            "a IS NULL",
            "a IS NULL OR b > 0",
            "a IS NOT TRUE",
            "x = NULL",
            "upper(u) = u",
            "lower(`e`) = `e`",
            "json_valid(`meta`)",
            "octet_length(x) > 0",
            "length(u) > length(ln)",
            "length(x) > 0.5",
            "length(x) IN (5, 6)",
            "length(x, 'UTF8') > 0",
            "length(lower(x)) > 0",
            "(arith + 1) > 2",
            "`total` * 1.2 > 0",
            "x > 0 + 1",
            "-x < 0",
            "-`n` < 3",
            "`a` in ('x','y') or `n` between 1 and 5 and `q` is not null",
            "NOT nb",
            "CHECK ((NOT (a > b)))",
            "lc > ('a'::text COLLATE \"C\")",
            "`a` <=> 1",
            "`a` > 0 && `b` > 0",
            "x > (SELECT 1)",
            "x > 'NaN'::numeric",
            "x > 0x1f",
            "x > b'101'",
            "x > 1_000",
            "x > date '2020-01-01'",
            "public.f(x) > 0",
            "x.y > 0",
            "(a > b) = true",
            "(a > b)::integer > 0",
            "1 = 1",
            "false",
            "5",
            "`x` > y",
            "x > y AND",
            "x > 'unterminated",
            "`x",
            "x > 0 /* open",
            "",
            "()",
            "x > 0)",
            "CHECK ((x > 0)) NOT VALID EXTRA",
            &deep,
        ];
        for expression in unsupported {
            let shown: String = expression.chars().take(80).collect();
            assert_eq!(parse(expression), None, "{shown}");
        }
    }

    #[test]
    fn columns_are_the_names_mentioned() {
        let cases: &[(&str, &[&str])] = &[
            ("lower(email) ~ '^[a-z]+$'::text", &["email"]),
            (
                "CHECK (((status)::text = ANY ((ARRAY['new'::character varying, 'paid'::character varying])::text[])))",
                &["status"],
            ),
            ("a IS NULL OR b > 0 OR a < 1", &["a", "b"]),
            ("`a` like 'x%' or `b` > 0 or `a` < 1", &["a", "b"]),
            ("\"Mixed Name\" > 0 AND \"Mixed Name\" < \"Other\"", &["Mixed Name", "Other"]),
            ("ts > '2020-01-01'::timestamp with time zone AND zone > 0", &["ts", "zone"]),
            ("created_at AT TIME ZONE 'UTC' > '2020-01-01'", &["created_at"]),
            ("lc > ('a'::text COLLATE \"C\")", &["lc"]),
            ("cast(`x` as signed) > 0", &["x"]),
            ("CAST(x AS integer) > 0 AND y::double precision > 1", &["x", "y"]),
            ("CHECK ((up > 0)) NOT VALID", &["up"]),
            ("x IS NOT TRUE AND y IS DISTINCT FROM z AND w IS UNKNOWN", &["x", "y", "z", "w"]),
            ("public.f(x) > 0", &["x"]),
            ("k LIKE 'a%' ESCAPE '!'", &["k"]),
            ("VALUE ~ '@'", &["value"]),
            ("'it''s a x' = y", &["y"]),
            ("`a` <> 'it\\'s `b`'", &["a"]),
            ("date '2020-01-01' < d", &["d"]),
            ("json_valid(`meta`)", &["meta"]),
            ("`a` + `b` > `c` div 2", &["a", "b", "c"]),
            ("Price > 0 AND price < 10", &["price"]),
            ("x > 'unterminated", &["x"]),
            ("((((", &[]),
            ("", &[]),
        ];
        for (expression, names) in cases {
            assert_eq!(columns(expression), *names, "{expression}");
        }
    }
}
