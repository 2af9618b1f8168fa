//! `docs/api.txt` lists the facade's public API: every public item of `crates/mlgate/src`
//! with its signature, the fields and variants of its types, the traits it implements, and
//! every item it re-exports from the layer crates. This test regenerates the listing from the
//! source and fails while the committed file differs, so a change to the public surface is
//! always a visible change to that file in review.
//!
//! After a deliberate change: `UPDATE_API=1 cargo test -p mlgate --test api_listing`, then
//! commit `docs/api.txt` with it (see `docs/api-stability.md`).
//!
//! The scanner is a small tokenizer over the source text (comments and attributes dropped,
//! strings and character literals kept intact, braces tracked), not a Rust parser: it knows
//! the shapes rustfmt writes. Items a macro declares are found when the macro body spells
//! them out (`pub const SCHEMAS` in `report.rs`); impls a macro generates are not listed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

const LISTING: &str = "docs/api.txt";

#[test]
fn api_listing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = listing(&root.join("src"));
    let path = root.join("../..").join(LISTING);
    if std::env::var_os("UPDATE_API").is_some_and(|v| !v.is_empty()) {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    let old: BTreeSet<&str> = committed.lines().collect();
    let new: BTreeSet<&str> = generated.lines().collect();
    let mut diff: Vec<String> = old.difference(&new).map(|l| format!("- {l}")).collect();
    diff.extend(new.difference(&old).map(|l| format!("+ {l}")));
    if diff.is_empty() {
        diff.push("(the same lines in another order)".into());
    }
    panic!(
        "{LISTING} does not match the facade's public API ({} line(s) differ):\n{}\n\n\
         If the change is deliberate, regenerate and commit it:\n  \
         UPDATE_API=1 cargo test -p mlgate --test api_listing\n\
         and check docs/api-stability.md for what a change to the surface means.",
        diff.len(),
        diff.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The listing of the crate whose sources are in `src`.
fn listing(src: &Path) -> String {
    let mut files = Vec::new();
    collect_files(src, &mut files);
    files.sort();
    let mut api = Api::default();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let module = module_path(src, file);
        Scanner::new(&mut api, &module).scan(&text);
    }
    api.render()
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/lib.rs` → `mlgate`, `src/gate.rs` → `mlgate::gate`, `src/a/mod.rs` → `mlgate::a`.
fn module_path(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("a file under src");
    let mut parts = vec!["mlgate".to_string()];
    for component in relative.with_extension("").components() {
        let name = component.as_os_str().to_string_lossy().into_owned();
        if name != "lib" && name != "mod" {
            parts.push(name);
        }
    }
    parts.join("::")
}

/// One public item and what belongs to it.
#[derive(Default)]
struct Item {
    /// `struct`, `fn`, `const`, ...
    kind: String,
    /// `mlgate::gate::GateSettings`, as defined (before private modules are resolved).
    path: String,
    /// The declaration after the name: `(path: &Path) -> Result<ModelInfo>`, generics, ...
    signature: String,
    /// `#[derive(..)]`, `#[cfg(..)]`, `#[non_exhaustive]`, as written.
    attributes: Vec<String>,
    /// Fields and variants, in declaration order.
    members: Vec<String>,
    /// Methods and associated items, by name.
    methods: BTreeMap<String, String>,
    /// `impl Trait for Type` headers.
    impls: BTreeSet<String>,
    /// Set for items a `macro_rules!` body declares.
    from_macro: Option<String>,
}

/// `pub use` of something: where it is visible and what it names.
struct ReExport {
    /// The module that re-exports.
    module: String,
    /// The name it is visible under.
    name: String,
    /// The full source path as written (`mlgate_bench::compare::Analysis`, `error::Error`).
    source: String,
}

/// A layer-crate type named in a facade signature.
struct Mention {
    /// `mlgate_backends::SessionInfo`.
    path: String,
    /// Where: `field mlgate::runtime::InferReport.session`.
    place: String,
}

#[derive(Default)]
struct Api {
    items: Vec<Item>,
    /// Module path → (public, attributes).
    modules: BTreeMap<String, (bool, Vec<String>)>,
    re_exports: Vec<ReExport>,
    /// Per module: name → full path of every `use` (private or public).
    uses: HashMap<String, HashMap<String, String>>,
    /// Signatures to look through for layer-crate types: (module, place, text).
    signatures: Vec<(String, String, String)>,
}

impl Api {
    fn find(&self, module: &str, name: &str) -> Option<usize> {
        let path = format!("{module}::{name}");
        self.items.iter().position(|i| i.path == path)
    }

    /// Whether every module on the way to `module` is public.
    fn reachable(&self, module: &str) -> bool {
        let parts: Vec<&str> = module.split("::").collect();
        (2..=parts.len()).all(|n| {
            self.modules
                .get(&parts[..n].join("::"))
                .is_some_and(|(public, _)| *public)
        })
    }

    /// `source` of a `use` in `module`, as a path from the crate root when it is local.
    fn local_source(&self, module: &str, source: &str) -> Option<String> {
        let mut parts: Vec<&str> = source.split("::").collect();
        let mut base: Vec<&str> = module.split("::").collect();
        match parts[0] {
            "crate" => {
                base.truncate(1);
                parts.remove(0);
            }
            "self" => {
                parts.remove(0);
            }
            "super" => {
                while parts.first() == Some(&"super") {
                    base.pop();
                    parts.remove(0);
                }
            }
            first if self.modules.contains_key(&format!("{module}::{first}")) => {}
            _ => return None,
        }
        base.extend(parts);
        Some(base.join("::"))
    }

    /// The public path of an item: its own when its module is reachable, else the path of
    /// a `pub use` of it from a reachable module (the facade's `error` module is private,
    /// its types are re-exported at the root).
    fn public_path(&self, item: &Item) -> Option<String> {
        let (module, name) = item.path.rsplit_once("::").expect("a path with a module");
        if self.reachable(module) {
            return Some(item.path.clone());
        }
        self.re_exports.iter().find_map(|r| {
            (self.reachable(&r.module)
                && self.local_source(&r.module, &r.source).as_deref() == Some(&item.path)
                && r.name == name)
                .then(|| format!("{}::{}", r.module, r.name))
        })
    }

    fn render(&self) -> String {
        let mut out = String::from(HEADER);
        // Items by public path; each block: the item, then its members, impls and methods.
        let mut blocks: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for item in &self.items {
            let Some(path) = self.public_path(item) else {
                continue;
            };
            let mut lines = Vec::new();
            let mut head = format!("{} {path}{}", item.kind, item.signature);
            if !item.attributes.is_empty() {
                head = format!("{head}  {}", item.attributes.join(" "));
            }
            if let Some(m) = &item.from_macro {
                head = format!("{head}  (declared by macro {m}!)");
            }
            lines.push(head);
            lines.extend(item.members.iter().map(|m| format!("    {m}")));
            lines.extend(item.impls.iter().map(|i| format!("    {i}")));
            lines.extend(item.methods.values().map(|m| format!("    {m}")));
            blocks.insert(format!("{path} {}", item.kind), lines);
        }
        for (module, (_, attributes)) in &self.modules {
            if self.reachable(module) {
                let mut line = format!("mod {module}");
                if !attributes.is_empty() {
                    line = format!("{line}  {}", attributes.join(" "));
                }
                blocks.insert(format!("{module} mod"), vec![line]);
            }
        }
        // Re-exports of the facade's own items from another public module.
        let mut layer: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &self.re_exports {
            if !self.reachable(&r.module) {
                continue;
            }
            let visible = format!("{}::{}", r.module, r.name);
            match self.local_source(&r.module, &r.source) {
                Some(local) => {
                    // Items of private modules are listed under this path already.
                    let (m, _) = local.rsplit_once("::").unwrap_or((&local, ""));
                    if self.reachable(m) {
                        blocks.insert(
                            format!("{visible} use"),
                            vec![format!("use {visible} = {local}")],
                        );
                    }
                }
                None => {
                    blocks.insert(
                        format!("{visible} use"),
                        vec![format!("use {visible} = {}", r.source)],
                    );
                    let krate = r.source.split("::").next().unwrap_or_default();
                    layer
                        .entry(krate.to_string())
                        .or_default()
                        .insert(format!("{visible} = {}", r.source));
                }
            }
        }
        for lines in blocks.values() {
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
        }

        out.push_str(
            "\n# Items of the layer crates re-exported by the facade, by crate. They are part of\n\
             # the facade's surface: a change to them in their crate is a change to this API.\n",
        );
        for (krate, names) in &layer {
            out.push_str(&format!("\n## {krate} ({} items)\n", names.len()));
            for name in names {
                out.push_str(&format!("{name}\n"));
            }
        }

        // Layer-crate types named in facade signatures but not re-exported: a caller gets
        // values of them without being able to name the type through the facade.
        let exported: BTreeSet<(String, String)> = self
            .re_exports
            .iter()
            .filter(|r| self.local_source(&r.module, &r.source).is_none())
            .map(|r| crate_and_name(&r.source))
            .collect();
        // Places name items by their public path (`mlgate::Error`, not `mlgate::error::Error`).
        let mut renamed: Vec<(String, String)> = self
            .items
            .iter()
            .filter_map(|i| self.public_path(i).map(|p| (i.path.clone(), p)))
            .filter(|(defined, public)| defined != public)
            .collect();
        renamed.sort_by_key(|(defined, _)| std::cmp::Reverse(defined.len()));
        let mut unexported: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for mention in self.mentions() {
            if !exported.contains(&crate_and_name(&mention.path)) {
                let mut place = mention.place;
                if let Some((kind, rest)) = place.split_once(' ') {
                    let renames = |(defined, _): &&(String, String)| {
                        rest.strip_prefix(defined.as_str())
                            .is_some_and(|after| after.is_empty() || after.starts_with([':', '.']))
                    };
                    if let Some((defined, public)) = renamed.iter().find(renames) {
                        place = format!("{kind} {public}{}", &rest[defined.len()..]);
                    }
                }
                unexported.entry(mention.path).or_default().insert(place);
            }
        }
        out.push_str(
            "\n# Layer-crate types named in the facade's own signatures (fields, variants,\n\
             # parameters) without a facade re-export: callers receive or pass them but cannot\n\
             # name them through `mlgate`. Not promised stable; see docs/api-stability.md.\n",
        );
        if unexported.is_empty() {
            out.push_str("(none)\n");
        }
        for (path, places) in &unexported {
            out.push_str(&format!("{path}\n"));
            for place in places {
                out.push_str(&format!("    in {place}\n"));
            }
        }
        out
    }

    /// Every layer-crate type named in a public signature.
    fn mentions(&self) -> Vec<Mention> {
        let mut found = Vec::new();
        for (module, place, text) in &self.signatures {
            let uses = self.uses.get(module);
            for token in path_tokens(text) {
                let (first, rest) = match token.split_once("::") {
                    Some((first, rest)) => (first, Some(rest)),
                    None => (token.as_str(), None),
                };
                let resolved = match (uses.and_then(|u| u.get(first)), rest) {
                    (Some(full), Some(rest)) => format!("{full}::{rest}"),
                    (Some(full), None) => full.clone(),
                    (None, _) => token.clone(),
                };
                let last = resolved.rsplit("::").next().unwrap_or_default();
                let is_type = last.chars().next().is_some_and(|c| c.is_ascii_uppercase());
                if resolved.starts_with("mlgate_") && is_type {
                    found.push(Mention {
                        path: resolved,
                        place: place.clone(),
                    });
                }
            }
        }
        found
    }
}

/// (`mlgate_bench`, `Analysis`) of `mlgate_bench::compare::Analysis`: a layer crate often
/// re-exports its items at its root, so an item is matched by crate and name.
fn crate_and_name(path: &str) -> (String, String) {
    let krate = path.split("::").next().unwrap_or_default().to_string();
    let name = path.rsplit("::").next().unwrap_or_default().to_string();
    (krate, name)
}

/// Identifier paths in `text` (`Option`, `mlgate_ir::IrError`, `host::Doctor`).
fn path_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        } else if c.is_alphanumeric() || c == '_' {
            current.push(c);
            continue;
        } else if c == ':' && chars.peek() == Some(&':') && !current.is_empty() {
            chars.next();
            current.push_str("::");
            continue;
        }
        if !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

const HEADER: &str = "\
# The public API of the `mlgate` facade crate (crates/mlgate/src), generated from the source
# by crates/mlgate/tests/api_listing.rs. Do not edit by hand: after a deliberate change run
#     UPDATE_API=1 cargo test -p mlgate --test api_listing
# and commit this file with the change. What may change and how versions move:
# docs/api-stability.md.
#
# One block per public item, sorted by path. `fn`, `struct`, `enum`, `trait`, `type`,
# `const`, `static` and `mod` lines are items the facade defines (with their derives and
# cfgs); indented under a type: `field`, `variant`, the `impl`s written in the facade, and
# methods. `use PATH = SOURCE` is a re-export: a SOURCE starting `mlgate_` is an item of a
# layer crate (mlgate-ir, -tasks, -backends, -bench, -registry, -ci) that the facade makes
# part of its own surface; they are summarised by crate at the end. (The `Report`/`Body`
# impls that the `reports!` macro in report.rs writes are not listed here: `SCHEMAS` and
# docs/schemas/ list every report type.)

";

/// What a `{ ... }` block is.
#[derive(Clone, Debug, PartialEq)]
enum Ctx {
    /// A module's top level (a file, or an inline `pub mod`): items are collected.
    Module(String),
    /// A `macro_rules!` body: only `pub` items it spells out are collected.
    Macro(String),
    /// A struct with named fields (item index).
    Struct(usize),
    /// An enum's variants (item index).
    Enum(usize),
    /// The fields of a struct-like variant (item index, variant name).
    Variant(usize, String),
    /// A trait's items (item index).
    Trait(usize),
    /// An inherent impl: its `pub` functions and constants (item index, when the type is
    /// a public item of the facade; the impl's generics when it has any).
    Impl(Option<usize>, String),
    /// Braces inside a statement (an initializer): the statement goes on after them.
    Expr,
    /// Anything else (function bodies, trait impls, private or test modules): ignored.
    Skip,
}

/// Attributes seen since the last statement.
#[derive(Default)]
struct Attrs {
    kept: Vec<String>,
    test: bool,
}

struct Scanner<'a> {
    api: &'a mut Api,
    stack: Vec<Ctx>,
    pending: String,
    attrs: Attrs,
    /// `(`/`[` depth and `<` depth of the pending text.
    parens: i32,
    angles: i32,
    /// The `macro_rules!` whose body is being read.
    macro_name: Option<String>,
}

impl<'a> Scanner<'a> {
    fn new(api: &'a mut Api, module: &str) -> Self {
        api.uses.entry(module.to_string()).or_default();
        Scanner {
            api,
            stack: vec![Ctx::Module(module.to_string())],
            pending: String::new(),
            attrs: Attrs::default(),
            parens: 0,
            angles: 0,
            macro_name: None,
        }
    }

    fn top(&self) -> &Ctx {
        self.stack.last().expect("the module context")
    }

    fn scan(mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            // Comments, doc comments included: dropped.
            if c == '/' && next == Some('/') {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                self.pending.push(' ');
                continue;
            }
            if c == '/' && next == Some('*') {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                self.pending.push(' ');
                continue;
            }
            // Strings and character literals: kept whole, never structure.
            if let Some(end) = literal_end(&chars, i) {
                self.pending.extend(&chars[i..end]);
                i = end;
                continue;
            }
            // Attributes: dropped from the text, remembered for the next item.
            if c == '#'
                && (next == Some('[') || (next == Some('!') && chars.get(i + 2) == Some(&'[')))
            {
                let open = if next == Some('[') { i + 1 } else { i + 2 };
                let end = bracket_end(&chars, open);
                let inner: String = chars[open + 1..end - 1].iter().collect();
                if next == Some('[') {
                    self.attribute(&normalize(&inner));
                }
                i = end;
                continue;
            }
            match c {
                '(' | '[' => self.parens += 1,
                ')' | ']' => self.parens -= 1,
                '<' => self.angles += 1,
                '>' if !matches!(i.checked_sub(1).map(|p| chars[p]), Some('-' | '=')) => {
                    self.angles -= 1
                }
                _ => {}
            }
            match c {
                '{' => self.open(),
                '}' => self.close(),
                ';' if self.parens == 0 && self.top() != &Ctx::Expr => {
                    let text = self.take();
                    self.statement(&text);
                }
                ',' if self.parens == 0
                    && self.angles <= 0
                    && matches!(self.top(), Ctx::Struct(_) | Ctx::Enum(_) | Ctx::Variant(..)) =>
                {
                    let text = self.take();
                    self.member(&text);
                }
                _ => self.pending.push(c),
            }
            i += 1;
        }
    }

    /// The pending statement, normalized; resets it.
    fn take(&mut self) -> String {
        self.parens = 0;
        self.angles = 0;
        normalize(&std::mem::take(&mut self.pending))
    }

    fn attribute(&mut self, inner: &str) {
        if inner == "cfg(test)" {
            self.attrs.test = true;
        } else if inner.starts_with("derive(")
            || inner.starts_with("cfg(")
            || inner == "non_exhaustive"
            || inner == "doc(hidden)"
        {
            self.attrs.kept.push(format!("#[{inner}]"));
        }
    }

    fn module(&self) -> String {
        self.stack
            .iter()
            .rev()
            .find_map(|c| match c {
                Ctx::Module(m) | Ctx::Macro(m) => Some(m.clone()),
                _ => None,
            })
            .expect("a module context")
    }

    fn push_item(&mut self, kind: &str, name: &str, signature: &str) -> usize {
        let module = self.module();
        let from_macro = match self.top() {
            Ctx::Macro(_) => Some(self.macro_name.clone().unwrap_or_default()),
            _ => None,
        };
        let item = Item {
            kind: kind.to_string(),
            path: format!("{module}::{name}"),
            signature: signature.to_string(),
            attributes: std::mem::take(&mut self.attrs.kept),
            from_macro,
            ..Item::default()
        };
        self.api.signatures.push((
            module,
            format!("{kind} {}", item.path),
            signature.to_string(),
        ));
        self.api.items.push(item);
        self.api.items.len() - 1
    }

    /// `{`: what block opens depends on the statement before it.
    fn open(&mut self) {
        let top = self.top().clone();
        if matches!(top, Ctx::Skip) {
            self.stack.push(Ctx::Skip);
            return;
        }
        let header = normalize(&self.pending);
        let use_tree = header.starts_with("use ")
            || header.starts_with("pub use ")
            || (header.starts_with("pub(") && header.contains(") use "));
        let expression = self.parens > 0
            || top == Ctx::Expr
            || use_tree
            || (header.contains('=')
                && ["pub const ", "pub static ", "const ", "static ", "let "]
                    .iter()
                    .any(|p| header.starts_with(p)));
        if expression {
            self.pending.push('{');
            self.stack.push(Ctx::Expr);
            return;
        }
        self.take();
        let test = std::mem::take(&mut self.attrs.test);
        let ctx = if test {
            Ctx::Skip
        } else {
            match &top {
                Ctx::Module(_) | Ctx::Macro(_) => self.item_block(&header, &top),
                Ctx::Enum(index) => {
                    let name = header.trim().to_string();
                    self.api.items[*index]
                        .members
                        .push(format!("variant {name} {{ .. }}"));
                    Ctx::Variant(*index, name)
                }
                Ctx::Impl(owner, generics) => {
                    if let (Some(owner), Some((name, sig))) = (owner, public_fn(&header)) {
                        self.method(*owner, &name, &format!("fn {name}{sig}"), generics);
                    }
                    Ctx::Skip
                }
                Ctx::Trait(owner) => {
                    if let Some((name, sig)) = trait_fn(&header) {
                        self.method(*owner, &name, &format!("fn {name}{sig}"), "");
                    }
                    Ctx::Skip
                }
                _ => Ctx::Skip,
            }
        };
        self.attrs = Attrs::default();
        self.stack.push(ctx);
    }

    /// The block an item header opens at a module's (or macro's) top level.
    fn item_block(&mut self, header: &str, top: &Ctx) -> Ctx {
        let in_macro = matches!(top, Ctx::Macro(_));
        if let Some(name) = header.strip_prefix("macro_rules! ") {
            self.macro_name = Some(name.trim().to_string());
            return Ctx::Macro(self.module());
        }
        if let Some((kind, name, rest)) = public_item(header) {
            return match kind.as_str() {
                "mod" if !in_macro => {
                    let path = format!("{}::{name}", self.module());
                    self.api
                        .modules
                        .insert(path.clone(), (true, std::mem::take(&mut self.attrs.kept)));
                    Ctx::Module(path)
                }
                "struct" | "union" => Ctx::Struct(self.push_item(&kind, &name, &rest)),
                "enum" => Ctx::Enum(self.push_item(&kind, &name, &rest)),
                "trait" => Ctx::Trait(self.push_item(&kind, &name, &rest)),
                "fn" => {
                    self.push_item(&kind, &name, &rest);
                    Ctx::Skip
                }
                _ => Ctx::Skip,
            };
        }
        if in_macro {
            return Ctx::Macro(self.module());
        }
        if let Some((generics, trait_, self_ty)) = impl_header(header) {
            let owner = self.api.find(&self.module(), &base_name(&self_ty));
            return match trait_ {
                Some(t) => {
                    let line = format!("impl{generics} {t} for {self_ty}");
                    match owner {
                        Some(o) => {
                            self.api.items[o].impls.insert(line);
                        }
                        None => {
                            self.push_item("impl", &format!("<{self_ty} as {t}>"), &generics);
                        }
                    }
                    Ctx::Skip
                }
                None => Ctx::Impl(owner, generics),
            };
        }
        Ctx::Skip
    }

    fn method(&mut self, owner: usize, name: &str, line: &str, generics: &str) {
        let line = if generics.is_empty() {
            line.to_string()
        } else {
            format!("{line}  [impl{generics}]")
        };
        let module = self.module();
        let place = format!("{} {}::{name}", "fn", self.api.items[owner].path);
        self.api.signatures.push((module, place, line.clone()));
        self.api.items[owner].methods.insert(name.to_string(), line);
    }

    fn close(&mut self) {
        let top = self.stack.pop().expect("balanced braces");
        match top {
            Ctx::Expr => {
                self.pending.push('}');
                return;
            }
            Ctx::Struct(_) | Ctx::Enum(_) | Ctx::Variant(..) => {
                // The last entry has no trailing comma.
                self.stack.push(top);
                let text = self.take();
                self.member(&text);
                self.stack.pop();
            }
            _ => {}
        }
        self.take();
        self.attrs = Attrs::default();
    }

    /// A field of a struct or struct-like variant, or a variant of an enum.
    fn member(&mut self, text: &str) {
        let test = std::mem::take(&mut self.attrs.test);
        self.attrs.kept.clear();
        if text.is_empty() || test {
            return;
        }
        let module = self.module();
        match self.top().clone() {
            Ctx::Struct(index) => {
                if let Some(field) = text.strip_prefix("pub ") {
                    let item = &mut self.api.items[index];
                    let place = format!("field {}.{}", item.path, field_name(field));
                    item.members.push(format!("field {field}"));
                    self.api.signatures.push((module, place, field.to_string()));
                } else {
                    let item = &mut self.api.items[index];
                    if !item.members.iter().any(|m| m == "(private fields)") {
                        item.members.push("(private fields)".into());
                    }
                }
            }
            Ctx::Enum(index) => {
                let item = &mut self.api.items[index];
                let place = format!("variant {}::{}", item.path, field_name(text));
                item.members.push(format!("variant {text}"));
                self.api.signatures.push((module, place, text.to_string()));
            }
            Ctx::Variant(index, variant) => {
                let item = &mut self.api.items[index];
                let place = format!("variant {}::{variant}", item.path);
                item.members.push(format!("    field {text}"));
                self.api.signatures.push((module, place, text.to_string()));
            }
            _ => {}
        }
    }

    /// A statement ending in `;`.
    fn statement(&mut self, text: &str) {
        let test = std::mem::take(&mut self.attrs.test);
        let top = self.top().clone();
        if test || text.is_empty() || matches!(top, Ctx::Skip | Ctx::Expr) {
            self.attrs = Attrs::default();
            return;
        }
        let module = self.module();
        // In a macro body, repetitions (`$(...)*`) run into the next item: start at `pub`.
        let text = match (&top, text.find("pub ")) {
            (Ctx::Macro(_), Some(start)) => &text[start..],
            _ => text,
        };
        match &top {
            Ctx::Module(_) | Ctx::Macro(_) => {
                let in_macro = matches!(top, Ctx::Macro(_));
                if let Some(tree) = text.strip_prefix("use ") {
                    if !in_macro {
                        self.uses(&module, tree, false);
                    }
                } else if let Some(tree) = text.strip_prefix("pub use ") {
                    if !in_macro {
                        self.uses(&module, tree, true);
                    }
                } else if let Some(name) = text.strip_prefix("mod ") {
                    self.api
                        .modules
                        .insert(format!("{module}::{}", name.trim()), (false, Vec::new()));
                } else if let Some((kind, name, rest)) = public_item(text) {
                    if kind == "mod" {
                        self.api.modules.insert(
                            format!("{module}::{name}"),
                            (true, std::mem::take(&mut self.attrs.kept)),
                        );
                    } else {
                        self.push_item(&kind, &name, &short_value(&rest));
                    }
                }
            }
            Ctx::Impl(Some(owner), generics) => {
                if let Some((kind, name, rest)) = public_item(text) {
                    let generics = generics.clone();
                    self.method(
                        *owner,
                        &name,
                        &format!("{kind} {name}{}", short_value(&rest)),
                        &generics,
                    );
                }
            }
            Ctx::Trait(owner) => {
                let owner = *owner;
                if let Some((name, sig)) = trait_fn(text) {
                    self.method(owner, &name, &format!("fn {name}{sig}"), "");
                } else if let Some((kind, rest)) = text.split_once(' ') {
                    if kind == "const" || kind == "type" {
                        let name = field_name(rest);
                        let value = short_value(&rest[name.len()..]);
                        self.method(owner, &name, &format!("{kind} {name}{value}"), "");
                    }
                }
            }
            _ => {}
        }
        self.attrs = Attrs::default();
    }

    fn uses(&mut self, module: &str, tree: &str, public: bool) {
        for (source, name) in expand_use(tree) {
            if public {
                self.api.re_exports.push(ReExport {
                    module: module.to_string(),
                    name: name.clone(),
                    source: source.clone(),
                });
            }
            self.api
                .uses
                .entry(module.to_string())
                .or_default()
                .insert(name, source);
        }
    }
}

/// The end (exclusive) of a string, raw string, byte string or character literal starting
/// at `i`, if one does; a lifetime (`'a`) is not a literal.
fn literal_end(chars: &[char], i: usize) -> Option<usize> {
    let c = chars[i];
    let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if c == 'r' && !prev_ident {
        let mut j = i + 1;
        while chars.get(j) == Some(&'#') {
            j += 1;
        }
        if chars.get(j) == Some(&'"') {
            let hashes = j - i - 1;
            let mut k = j + 1;
            while k < chars.len() {
                if chars[k] == '"' && (0..hashes).all(|h| chars.get(k + 1 + h) == Some(&'#')) {
                    return Some(k + 1 + hashes);
                }
                k += 1;
            }
            return Some(chars.len());
        }
    }
    if c == '"' {
        let mut k = i + 1;
        while k < chars.len() {
            match chars[k] {
                '\\' => k += 2,
                '"' => return Some(k + 1),
                _ => k += 1,
            }
        }
        return Some(chars.len());
    }
    if c == '\'' {
        if chars.get(i + 1) == Some(&'\\') {
            let mut k = i + 2;
            while k < chars.len() && chars[k] != '\'' {
                k += 1;
            }
            return Some(k + 1);
        }
        if chars.get(i + 2) == Some(&'\'') {
            return Some(i + 3);
        }
    }
    None
}

/// The end (exclusive) of the `[...]` opened at `open`.
fn bracket_end(chars: &[char], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        if let Some(end) = literal_end(chars, i) {
            i = end;
            continue;
        }
        match chars[i] {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

/// Whitespace collapsed, and none inside brackets' edges or before a comma: the text
/// rustfmt spreads over lines reads as one line.
fn normalize(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    let chars: Vec<char> = collapsed.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let before = i.checked_sub(1).map(|p| chars[p]);
            let after = chars.get(i + 1).copied();
            if matches!(before, Some('(' | '[' | '<'))
                || matches!(after, Some(')' | ']' | ','))
                || (after == Some('>') && before != Some('-') && before != Some('='))
            {
                continue;
            }
        }
        out.push(c);
    }
    out.replace(",)", ")")
        .replace(",]", "]")
        .replace(",>", ">")
        .trim()
        .to_string()
}

/// `(kind, name, rest)` of a `pub` item declaration: `pub const fn x(..)` → (`fn`, `x`,
/// `(..)`). `pub(crate)` and friends are not public.
fn public_item(text: &str) -> Option<(String, String, String)> {
    let mut rest = text.strip_prefix("pub ")?;
    for qualifier in ["const fn ", "async fn ", "unsafe fn ", "extern \"C\" fn "] {
        if let Some(r) = rest.strip_prefix(qualifier) {
            rest = r;
            return split_name("fn", rest);
        }
    }
    for kind in [
        "fn", "struct", "enum", "trait", "type", "const", "static", "mod", "union",
    ] {
        if let Some(r) = rest.strip_prefix(kind).and_then(|r| r.strip_prefix(' ')) {
            return split_name(kind, r);
        }
    }
    None
}

fn split_name(kind: &str, rest: &str) -> Option<(String, String, String)> {
    let rest = rest.strip_prefix("mut ").unwrap_or(rest);
    let name = field_name(rest);
    (!name.is_empty()).then(|| {
        (
            kind.to_string(),
            name.clone(),
            rest[name.len()..].to_string(),
        )
    })
}

/// The identifier a declaration starts with.
fn field_name(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// A `pub fn` in an impl: (name, signature after the name).
fn public_fn(header: &str) -> Option<(String, String)> {
    public_item(header).and_then(|(kind, name, rest)| (kind == "fn").then_some((name, rest)))
}

/// A function in a trait (all public): (name, signature after the name).
fn trait_fn(text: &str) -> Option<(String, String)> {
    let rest = text.strip_prefix("fn ")?;
    let name = field_name(rest);
    Some((name.clone(), rest[name.len()..].to_string()))
}

/// A const or static's declaration with its value kept only when short and literal.
fn short_value(rest: &str) -> String {
    match rest.split_once(" = ") {
        Some((ty, value)) if value.len() <= 72 && !value.contains('$') => {
            format!("{ty} = {value}")
        }
        Some((ty, _)) => ty.to_string(),
        None => rest.to_string(),
    }
}

/// `(generics, trait, self type)` of an `impl` header.
fn impl_header(header: &str) -> Option<(String, Option<String>, String)> {
    let rest = header.strip_prefix("unsafe ").unwrap_or(header);
    let rest = rest.strip_prefix("impl")?;
    let (generics, rest) = if rest.starts_with('<') {
        let mut depth = 0;
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        (rest[..end].to_string(), rest[end..].trim())
    } else if rest.starts_with(' ') {
        (String::new(), rest.trim())
    } else {
        return None;
    };
    let rest = rest.split(" where ").next().unwrap_or(rest);
    match rest.split_once(" for ") {
        Some((t, ty)) => Some((generics, Some(t.to_string()), ty.to_string())),
        None => Some((generics, None, rest.to_string())),
    }
}

/// `Envelope` of `Envelope<T>`, `Build` of `&Build`.
fn base_name(ty: &str) -> String {
    let ty = ty.trim_start_matches('&');
    let ty = ty.split('<').next().unwrap_or(ty);
    ty.rsplit("::").next().unwrap_or(ty).to_string()
}

/// `(full path, visible name)` of every name a use tree brings in.
fn expand_use(tree: &str) -> Vec<(String, String)> {
    let tree = tree.trim();
    if let Some(open) = top_level_brace(tree) {
        let prefix = tree[..open].trim_end_matches("::");
        let inner = &tree[open + 1..tree.len() - 1];
        let mut out = Vec::new();
        for part in split_top_level(inner) {
            if part == "self" {
                let name = prefix.rsplit("::").next().unwrap_or(prefix).to_string();
                out.push((prefix.to_string(), name));
            } else {
                let joined = if prefix.is_empty() {
                    part.to_string()
                } else {
                    format!("{prefix}::{part}")
                };
                out.extend(expand_use(&joined));
            }
        }
        return out;
    }
    match tree.split_once(" as ") {
        Some((path, alias)) => vec![(path.trim().to_string(), alias.trim().to_string())],
        None => {
            let name = tree.rsplit("::").next().unwrap_or(tree).to_string();
            vec![(tree.to_string(), name)]
        }
    }
}

fn top_level_brace(tree: &str) -> Option<usize> {
    tree.find('{')
}

fn split_top_level(inner: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                if !current.trim().is_empty() {
                    parts.push(current.trim().to_string());
                }
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_string());
    }
    parts
}

#[test]
fn the_scanner_reads_what_rustfmt_writes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        r##"//! Docs with a { brace.
pub mod shapes;
mod hidden;
pub use hidden::Secret;
pub use mlgate_ir::{tensor::{Tensor, TensorStats as Stats}, ModelInfo};

/// A constant.
pub const NAME: &str = "a { brace";
pub(crate) fn internal() {}

#[cfg(test)]
mod tests {
    pub fn not_listed() {}
}
"##,
    )
    .unwrap();
    std::fs::write(
        src.join("shapes.rs"),
        r##"use mlgate_backends::SessionInfo;

#[derive(Debug, Clone)]
pub struct Square {
    /// Side.
    pub side: f64,
    pub info: SessionInfo,
    hidden: Vec<(u8, char)>,
}

impl Square {
    pub fn new(
        side: f64,
    ) -> Square {
        let c = '{';
        Square { side, info: SessionInfo::default(), hidden: vec![(1, c)] }
    }
    fn private(&self) {}
}

impl std::fmt::Display for Square {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "}}")
    }
}

#[non_exhaustive]
pub enum Shape {
    Square(Square),
    Circle { radius: f64 },
    Point,
}

pub trait Area {
    const UNIT: &'static str;
    fn area(&self) -> f64;
}
"##,
    )
    .unwrap();
    std::fs::write(src.join("hidden.rs"), "pub struct Secret(pub u8);\n").unwrap();
    let text = listing(src);
    let body: Vec<&str> = text
        .lines()
        .skip_while(|l| l.starts_with('#') || l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(
        body,
        [
            "use mlgate::ModelInfo = mlgate_ir::ModelInfo",
            "const mlgate::NAME: &str = \"a { brace\"",
            "struct mlgate::Secret(pub u8)",
            "use mlgate::Stats = mlgate_ir::tensor::TensorStats",
            "use mlgate::Tensor = mlgate_ir::tensor::Tensor",
            "mod mlgate::shapes",
            "trait mlgate::shapes::Area",
            "    const UNIT: &'static str",
            "    fn area(&self) -> f64",
            "enum mlgate::shapes::Shape  #[non_exhaustive]",
            "    variant Square(Square)",
            "    variant Circle { .. }",
            "        field radius: f64",
            "    variant Point",
            "struct mlgate::shapes::Square  #[derive(Debug, Clone)]",
            "    field side: f64",
            "    field info: SessionInfo",
            "    (private fields)",
            "    impl std::fmt::Display for Square",
            "    fn new(side: f64) -> Square",
        ],
        "{text}"
    );
    assert!(text.contains("## mlgate_ir (3 items)"), "{text}");
    assert!(
        text.contains("mlgate_backends::SessionInfo\n    in field mlgate::shapes::Square.info"),
        "{text}"
    );
}
