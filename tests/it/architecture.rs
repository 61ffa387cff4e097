//! The folders import one way only: data → model → plan → protocol → store →
//! train → session → tui/report/screen/interop → cli, with no circle anywhere: not
//! between rooms of one rank, not between the files of one room.
//!
//! The sources are parsed with `syn`; every `crate::`, `super::`, `self::`,
//! `atelier::` or child-module path in production code (tests may build what they test
//! from any room) is resolved to the file that defines what it names,
//! following `pub use` re-exports to where the item really lives. A
//! re-export itself is not a dependency of its file (it only gives a name),
//! except when it crosses rooms.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use syn::{visit::Visit, Attribute, Item, UseTree, Visibility};

/// Each room's rank; a file may use rooms of its own rank or lower. `paths`
/// and `units` are small helpers every room may use, and `edge` (stdout, output
/// files, terminal text, bounded reads) too.
const RANKS: [(&str, u8); 21] = [
    ("edge", 0),
    ("paths", 0),
    ("units", 0),
    ("stats", 0),
    ("data", 1),
    ("model", 2),
    ("plan", 3),
    ("protocol", 4),
    ("store", 5),
    ("testing", 5),
    ("train", 6),
    ("analysis", 6),
    ("slurm", 6),
    ("draw", 6),
    ("session", 7),
    ("remote", 7),
    ("tui", 8),
    ("report", 8),
    ("screen", 8),
    ("interop", 8),
    ("cli", 9),
];

fn rank(room: &str) -> Option<u8> {
    RANKS
        .iter()
        .find(|(name, _)| *name == room)
        .map(|(_, rank)| *rank)
}

/// A module path from the crate root: `src/store/log.rs` → `["store", "log"]`.
type Module = Vec<String>;

/// One place a file names something in another module.
#[derive(Clone, Debug)]
struct Reference {
    path: Vec<String>,
    line: usize,
    /// A `pub use`: a name given, not a dependency, unless it crosses rooms.
    reexport: bool,
}

/// A parsed source file: what it names, and what it re-exports under which name.
struct Source {
    file: PathBuf,
    module: Module,
    references: Vec<Reference>,
    reexports: BTreeMap<String, Vec<String>>,
}

/// The parsed sources, by module path.
struct Tree {
    sources: BTreeMap<Module, Source>,
}

/// A dependency of one file on another, with the line that makes it.
#[derive(Clone, Debug)]
struct Edge {
    from: Module,
    to: Module,
    line: usize,
    reexport: bool,
}

fn module_of(relative: &Path) -> Module {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    // The library's root is the crate's; the binary's root (`main.rs`) keeps
    // its name, outside every room.
    if matches!(parts.as_slice(), [root] if root == "lib") {
        parts.clear();
    }
    parts
}

fn is_test_only(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(item) => &item.attrs,
        Item::Enum(item) => &item.attrs,
        Item::ExternCrate(item) => &item.attrs,
        Item::Fn(item) => &item.attrs,
        Item::ForeignMod(item) => &item.attrs,
        Item::Impl(item) => &item.attrs,
        Item::Macro(item) => &item.attrs,
        Item::Mod(item) => &item.attrs,
        Item::Static(item) => &item.attrs,
        Item::Struct(item) => &item.attrs,
        Item::Trait(item) => &item.attrs,
        Item::TraitAlias(item) => &item.attrs,
        Item::Type(item) => &item.attrs,
        Item::Union(item) => &item.attrs,
        Item::Use(item) => &item.attrs,
        _ => &[],
    }
}

/// Every full path a `use` tree names, with the name each is bound to
/// (`None` for a glob).
fn flatten(
    tree: &UseTree,
    prefix: &mut Vec<String>,
    found: &mut Vec<(Vec<String>, Option<String>)>,
) {
    match tree {
        UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            flatten(&path.tree, prefix, found);
            prefix.pop();
        }
        UseTree::Name(name) => {
            let mut full = prefix.clone();
            let ident = name.ident.to_string();
            if ident != "self" {
                full.push(ident.clone());
            }
            let bound = if ident == "self" {
                prefix.last().cloned()
            } else {
                Some(ident)
            };
            found.push((full, bound));
        }
        UseTree::Rename(rename) => {
            let mut full = prefix.clone();
            if rename.ident != "self" {
                full.push(rename.ident.to_string());
            }
            found.push((full, Some(rename.rename.to_string())));
        }
        UseTree::Glob(_) => found.push((prefix.clone(), None)),
        UseTree::Group(group) => {
            for tree in &group.items {
                flatten(tree, prefix, found);
            }
        }
    }
}

/// Collects a file's references, skipping `#[cfg(test)]` items.
#[derive(Default)]
struct Collector {
    references: Vec<Reference>,
    reexports: BTreeMap<String, Vec<String>>,
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item(&mut self, item: &'ast Item) {
        if !is_test_only(item_attrs(item)) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let reexport = matches!(item.vis, Visibility::Public(_));
        let line = item.use_token.span.start().line;
        let mut found = Vec::new();
        flatten(&item.tree, &mut Vec::new(), &mut found);
        for (path, bound) in found {
            if let (true, Some(name)) = (reexport, bound) {
                self.reexports.insert(name, path.clone());
            }
            self.references.push(Reference {
                path,
                line,
                reexport,
            });
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        if segments.len() > 1 {
            self.references.push(Reference {
                line: path.segments[0].ident.span().start().line,
                path: segments,
                reexport: false,
            });
        }
        syn::visit::visit_path(self, path);
    }
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

fn parse(file: PathBuf, module: Module, code: &str) -> Source {
    let ast = syn::parse_file(code).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut collector = Collector::default();
    collector.visit_file(&ast);
    Source {
        file,
        module,
        references: collector.references,
        reexports: collector.reexports,
    }
}

impl Tree {
    fn from_sources(sources: impl IntoIterator<Item = Source>) -> Self {
        Tree {
            sources: sources
                .into_iter()
                .map(|source| (source.module.clone(), source))
                .collect(),
        }
    }

    fn read() -> Self {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        Self::from_sources(files.into_iter().map(|path| {
            let relative = path.strip_prefix(&src).unwrap().to_path_buf();
            let module = module_of(&relative);
            let code = fs::read_to_string(&path).unwrap();
            parse(Path::new("src").join(relative), module, &code)
        }))
    }

    /// The file that defines what `path` (written in `from`) names, following
    /// re-exports; `None` for what lies outside the crate.
    fn resolve(&self, from: &Module, path: &[String], depth: usize) -> Option<Module> {
        let mut module: Module = match path.first()?.as_str() {
            "crate" | "atelier" => Vec::new(),
            "self" => from.clone(),
            "super" => from.clone(),
            // A path from a child module (`pub use fit::Event;`), as the 2018
            // edition allows; anything else is outside the crate or local.
            child
                if self
                    .sources
                    .contains_key(&[from.as_slice(), &[child.to_string()]].concat()) =>
            {
                let mut module = from.clone();
                module.push(child.to_string());
                return self
                    .resolve(from, &[&["self".to_string()], path].concat(), depth)
                    .or(Some(module));
            }
            _ => return None,
        };
        let mut rest = &path[1..];
        if path[0] == "super" {
            module.pop();
            while rest.first().is_some_and(|segment| segment == "super") {
                module.pop();
                rest = &rest[1..];
            }
        }
        while let Some(next) = rest.first() {
            let mut child = module.clone();
            child.push(next.clone());
            if !self.sources.contains_key(&child) {
                break;
            }
            module = child;
            rest = &rest[1..];
        }
        let source = self.sources.get(&module)?;
        match rest.first().and_then(|name| source.reexports.get(name)) {
            Some(target) if depth < 8 => {
                let mut target = target.clone();
                target.extend(rest[1..].iter().cloned());
                self.resolve(&module, &target, depth + 1).or(Some(module))
            }
            _ => Some(module),
        }
    }

    fn edges(&self) -> Vec<Edge> {
        let mut edges = Vec::new();
        for source in self.sources.values() {
            for reference in &source.references {
                let Some(to) = self.resolve(&source.module, &reference.path, 0) else {
                    continue;
                };
                if to != source.module {
                    edges.push(Edge {
                        from: source.module.clone(),
                        to,
                        line: reference.line,
                        reexport: reference.reexport,
                    });
                }
            }
        }
        edges
    }

    fn file(&self, module: &Module) -> String {
        self.sources[module].file.display().to_string()
    }
}

fn room(module: &Module) -> Option<&str> {
    module.first().map(String::as_str)
}

/// The groups of nodes that reach each other (Tarjan's algorithm), largest
/// circles only: groups of one are left out.
fn circles<N: Ord + Clone>(nodes: &BTreeSet<N>, arrows: &BTreeSet<(N, N)>) -> Vec<Vec<N>> {
    struct Search<'a, N> {
        arrows: &'a BTreeSet<(N, N)>,
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        found: Vec<Vec<N>>,
    }
    impl<N: Ord + Clone> Search<'_, N> {
        fn visit(&mut self, node: &N) {
            let number = self.index.len();
            self.index.insert(node.clone(), number);
            self.low.insert(node.clone(), number);
            self.stack.push(node.clone());
            let next: Vec<N> = self
                .arrows
                .iter()
                .filter(|(from, _)| from == node)
                .map(|(_, to)| to.clone())
                .collect();
            for to in next {
                if !self.index.contains_key(&to) {
                    self.visit(&to);
                    let low = self.low[node].min(self.low[&to]);
                    self.low.insert(node.clone(), low);
                } else if self.stack.contains(&to) {
                    let low = self.low[node].min(self.index[&to]);
                    self.low.insert(node.clone(), low);
                }
            }
            if self.low[node] == self.index[node] {
                let at = self.stack.iter().position(|n| n == node).unwrap();
                let group = self.stack.split_off(at);
                if group.len() > 1 {
                    self.found.push(group);
                }
            }
        }
    }
    let mut search = Search {
        arrows,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in nodes {
        if !search.index.contains_key(node) {
            search.visit(node);
        }
    }
    search.found
}

/// The edges inside a circle, as `file:line → file` lines.
fn describe(tree: &Tree, edges: &[Edge], inside: impl Fn(&Edge) -> bool) -> String {
    let mut lines: Vec<String> = edges
        .iter()
        .filter(|edge| inside(edge))
        .map(|edge| {
            format!(
                "  {}:{} → {}",
                tree.file(&edge.from),
                edge.line,
                tree.file(&edge.to)
            )
        })
        .collect();
    lines.sort();
    lines.dedup();
    lines.join("\n")
}

fn upward(tree: &Tree, edges: &[Edge]) -> Vec<String> {
    edges
        .iter()
        .filter_map(|edge| {
            let (from, to) = (room(&edge.from)?, room(&edge.to)?);
            (rank(to)? > rank(from)?)
                .then(|| format!("{}:{}: {from} uses {to}", tree.file(&edge.from), edge.line))
        })
        .collect()
}

fn room_circles(tree: &Tree, edges: &[Edge]) -> Vec<String> {
    let arrows: BTreeSet<(String, String)> = edges
        .iter()
        .filter_map(|edge| Some((room(&edge.from)?.to_string(), room(&edge.to)?.to_string())))
        .filter(|(from, to)| from != to)
        .collect();
    let nodes = arrows
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    circles(&nodes, &arrows)
        .into_iter()
        .map(|group| {
            let inside = |edge: &Edge| {
                let (from, to) = (room(&edge.from), room(&edge.to));
                from != to
                    && group.iter().any(|r| Some(r.as_str()) == from)
                    && group.iter().any(|r| Some(r.as_str()) == to)
            };
            format!(
                "rooms {}:\n{}",
                group.join(" ↔ "),
                describe(tree, edges, inside)
            )
        })
        .collect()
}

fn file_circles(tree: &Tree, edges: &[Edge]) -> Vec<String> {
    let arrows: BTreeSet<(Module, Module)> = edges
        .iter()
        .filter(|edge| !edge.reexport)
        .map(|edge| (edge.from.clone(), edge.to.clone()))
        .collect();
    let nodes = tree.sources.keys().cloned().collect();
    circles(&nodes, &arrows)
        .into_iter()
        .map(|group| {
            let names: Vec<String> = group.iter().map(|module| tree.file(module)).collect();
            let inside = |edge: &Edge| {
                !edge.reexport && group.contains(&edge.from) && group.contains(&edge.to)
            };
            format!(
                "files {}:\n{}",
                names.join(" ↔ "),
                describe(tree, edges, inside)
            )
        })
        .collect()
}

#[test]
fn rooms_import_downwards_only() {
    let tree = Tree::read();
    let wrong = upward(&tree, &tree.edges());
    assert!(
        wrong.is_empty(),
        "imports that go up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_circle_between_rooms_or_files() {
    let tree = Tree::read();
    let edges = tree.edges();
    let mut found = room_circles(&tree, &edges);
    found.extend(file_circles(&tree, &edges));
    assert!(found.is_empty(), "circles:\n{}", found.join("\n"));
}

#[test]
fn the_table_of_rooms_is_the_tree() {
    let tree = Tree::read();
    let rooms: BTreeSet<&str> = tree
        .sources
        .keys()
        .filter_map(room)
        .filter(|room| *room != "main")
        .collect();
    let table: BTreeSet<&str> = RANKS.iter().map(|(name, _)| *name).collect();
    assert_eq!(rooms, table, "the rooms in src/ and in RANKS differ");
}

fn tree_of(files: &[(&str, &str)]) -> Tree {
    Tree::from_sources(files.iter().map(|(file, code)| {
        let module = module_of(Path::new(file));
        parse(PathBuf::from(file), module, code)
    }))
}

#[test]
fn an_upward_import_is_found_through_a_reexport() {
    let tree = tree_of(&[
        ("lib.rs", "pub mod store; pub mod train;"),
        ("train.rs", "mod fit; pub use fit::Event;"),
        ("train/fit.rs", "pub struct Event;"),
        (
            "store.rs",
            "use crate::{train::Event, paths};\nfn f() { crate::train::fit::go(); }\n#[cfg(test)]\nmod tests { use crate::tui::App; }",
        ),
    ]);
    let edges = tree.edges();
    let from_store: Vec<(String, usize)> = edges
        .iter()
        .filter(|edge| edge.from == ["store"] && room(&edge.to).is_some())
        .map(|edge| (edge.to.join("/"), edge.line))
        .collect();
    assert_eq!(
        from_store,
        [("train/fit".to_string(), 1), ("train/fit".to_string(), 2)]
    );
    assert_eq!(upward(&tree, &edges).len(), 2);
}

#[test]
fn a_circle_between_files_is_found_but_not_a_facade() {
    let facade = tree_of(&[
        ("lib.rs", "pub mod data;"),
        (
            "data.rs",
            "mod idx; pub use idx::read; pub const SIDE: usize = 28;",
        ),
        ("data/idx.rs", "use super::SIDE; pub fn read() {}"),
    ]);
    assert!(file_circles(&facade, &facade.edges()).is_empty());
    let circle = tree_of(&[
        ("lib.rs", "pub mod data;"),
        ("data.rs", "mod idx; mod dataset;"),
        ("data/idx.rs", "use super::dataset::SIDE; pub fn read() {}"),
        (
            "data/dataset.rs",
            "pub const SIDE: usize = 28;\nfn f() { super::idx::read() }",
        ),
    ]);
    let found = file_circles(&circle, &circle.edges());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("data/dataset.rs:2 → data/idx.rs"),
        "{}",
        found[0]
    );
}

#[test]
fn a_circle_between_rooms_of_one_rank_is_found() {
    let tree = tree_of(&[
        ("lib.rs", "pub mod report; pub mod screen;"),
        ("report.rs", "use crate::screen::Canvas;"),
        (
            "screen.rs",
            "pub struct Canvas; fn f() -> crate::report::Error { todo!() }",
        ),
    ]);
    let found = room_circles(&tree, &tree.edges());
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("rooms "), "{}", found[0]);
}
