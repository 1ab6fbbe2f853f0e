//! What Rust code sees of the raw client generated from a spec, read from
//! the generated syntax tree (progenitor's own names, never guessed here),
//! and how that changes between two specs.
//!
//! With progenitor's builder interface a call reads
//! `client.start_task().task(name).send().await`: a client method per
//! operation, a setter per parameter, and `send()`. Code written against
//! the old client stops compiling when a method, setter, type, field or
//! variant it names is removed or changes type. One case compiles yet
//! fails: an added *required* parameter starts as `Err("... was not
//! initialized")` and `send()` fails at run time, so it is breaking too.

use std::collections::BTreeMap;

use quote::ToTokens;

use crate::wire::Class;

/// The HTTP method (lower case) and path of a request: `("post", "/butler/{task}")`.
pub type Request = (String, String);

/// The raw client's surface.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Api {
    /// The client's methods (one per operation), by name.
    pub methods: BTreeMap<String, Method>,
    /// The types of the `types` module, by name.
    pub types: BTreeMap<String, Shape>,
}

/// A client method and the builder it returns.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Method {
    /// The HTTP method (lower case) and path the method sends, from the
    /// doc comment progenitor writes ("Sends a `POST` request to `/x`").
    pub request: Option<Request>,
    /// The builder's setters (one per parameter), by name.
    pub setters: BTreeMap<String, Setter>,
    /// What `send()` returns.
    pub returns: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setter {
    /// The type the parameter converts into.
    pub ty: String,
    /// Whether `send()` fails when the setter is not called.
    pub required: bool,
}

/// A generated type: its fields (structs; `0` for a newtype) or its
/// variants (enums, each with its payload), with their types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Struct(BTreeMap<String, String>),
    Enum(BTreeMap<String, String>),
    /// A type alias or anything else, with its definition.
    Other(String),
}

/// One change of the surface, and whether it breaks code written against
/// the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub place: Place,
    pub change: String,
    pub class: Class,
    pub why: &'static str,
}

/// What a change is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A client method, with the request it sends (when known).
    Method(String, Option<Request>),
    /// A type of `types`.
    Type(String),
}

/// Generates the raw client from a spec's text, as the build does, and
/// reads its surface.
pub fn generate(spec_text: &str) -> Result<Api, String> {
    let code = crate::codegen::generate(spec_text)
        .map_err(|e| format!("the generator cannot turn it into a client: {e}"))?;
    read(&code)
}

/// Reads the surface of a generated client (the formatted source that
/// `codegen::generate` returns).
pub fn read(code: &str) -> Result<Api, String> {
    let file =
        syn::parse_file(code).map_err(|e| format!("the generated code does not parse: {e}"))?;
    let mut api = Api::default();
    let mut builders: BTreeMap<String, (BTreeMap<String, Setter>, String)> = BTreeMap::new();
    let mut methods: Vec<(String, String, Option<Request>)> = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Impl(block)
                if block.trait_.is_none() && type_name(&block.self_ty) == "Client" =>
            {
                for item in &block.items {
                    let syn::ImplItem::Fn(f) = item else { continue };
                    if !matches!(f.vis, syn::Visibility::Public(_)) {
                        continue;
                    }
                    if let Some(builder) = builder_returned(&f.sig.output) {
                        methods.push((f.sig.ident.to_string(), builder, request_of(&f.attrs)));
                    }
                }
            }
            syn::Item::Mod(module) if module.ident == "builder" => {
                builders = read_builders(module);
            }
            syn::Item::Mod(module) if module.ident == "types" => {
                api.types = read_types(module);
            }
            _ => {}
        }
    }
    for (name, builder, request) in methods {
        let (setters, returns) = builders.remove(&builder).unwrap_or_default();
        api.methods.insert(
            name,
            Method {
                request,
                setters,
                returns,
            },
        );
    }
    Ok(api)
}

/// `Client` for `Client`, `Client<'a>`, `super::Client`.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// `X` when a method returns `builder::X<'_>`.
fn builder_returned(output: &syn::ReturnType) -> Option<String> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let syn::Type::Path(path) = ty.as_ref() else {
        return None;
    };
    let segments: Vec<_> = path.path.segments.iter().collect();
    match segments.as_slice() {
        [module, name] if module.ident == "builder" => Some(name.ident.to_string()),
        _ => None,
    }
}

/// The doc comment's text.
fn doc_of(attrs: &[syn::Attribute]) -> String {
    let mut doc = String::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) = &nv.value
        {
            doc.push_str(&text.value());
            doc.push('\n');
        }
    }
    doc
}

/// The request a method's doc says it sends.
fn request_of(attrs: &[syn::Attribute]) -> Option<Request> {
    let doc = doc_of(attrs);
    let rest = doc.split("Sends a `").nth(1)?;
    let (method, rest) = rest.split_once('`')?;
    let path = rest.split('`').nth(1)?;
    Some((method.to_lowercase(), path.to_string()))
}

fn read_builders(module: &syn::ItemMod) -> BTreeMap<String, (BTreeMap<String, Setter>, String)> {
    let mut out = BTreeMap::new();
    let Some((_, items)) = &module.content else {
        return out;
    };
    // The builder structs' fields: `name: Result<T, String>`.
    let mut fields: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for item in items {
        if let syn::Item::Struct(s) = item {
            let mut types = BTreeMap::new();
            for field in &s.fields {
                if let Some(ident) = &field.ident {
                    types.insert(ident.to_string(), result_ok_type(&field.ty));
                }
            }
            fields.insert(s.ident.to_string(), types);
        }
    }
    for item in items {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        if block.trait_.is_some() {
            continue;
        }
        let name = type_name(&block.self_ty);
        let struct_fields = fields.get(&name).cloned().unwrap_or_default();
        let mut required = Vec::new();
        let mut setters = BTreeMap::new();
        let mut returns = String::new();
        for item in &block.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            let fn_name = f.sig.ident.to_string();
            match fn_name.as_str() {
                "new" => required = uninitialized_fields(&f.block),
                "send" => returns = shown(&f.sig.output),
                _ if matches!(f.vis, syn::Visibility::Public(_)) => {
                    let ty = struct_fields.get(&fn_name).cloned().unwrap_or_default();
                    setters.insert(
                        fn_name,
                        Setter {
                            ty,
                            required: false,
                        },
                    );
                }
                _ => {}
            }
        }
        for name in required {
            if let Some(setter) = setters.get_mut(&name) {
                setter.required = true;
            }
        }
        out.insert(name, (setters, returns));
    }
    out
}

/// `T` for `Result<T, String>`; the type itself otherwise.
fn result_ok_type(ty: &syn::Type) -> String {
    if let syn::Type::Path(path) = ty
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(ok)) = args.args.first()
    {
        return shown(ok);
    }
    shown(ty)
}

/// The fields that `new()` starts as `Err(...)`: the required parameters.
fn uninitialized_fields(block: &syn::Block) -> Vec<String> {
    let mut out = Vec::new();
    for stmt in &block.stmts {
        let syn::Stmt::Expr(syn::Expr::Struct(s), _) = stmt else {
            continue;
        };
        for field in &s.fields {
            if let (syn::Member::Named(name), syn::Expr::Call(call)) = (&field.member, &field.expr)
                && let syn::Expr::Path(f) = call.func.as_ref()
                && f.path.is_ident("Err")
            {
                out.push(name.to_string());
            }
        }
    }
    out
}

fn read_types(module: &syn::ItemMod) -> BTreeMap<String, Shape> {
    let mut out = BTreeMap::new();
    let Some((_, items)) = &module.content else {
        return out;
    };
    for item in items {
        match item {
            syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
                let fields = s
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let name = f.ident.as_ref().map_or(i.to_string(), |id| id.to_string());
                        (name, shown(&f.ty))
                    })
                    .collect();
                out.insert(s.ident.to_string(), Shape::Struct(fields));
            }
            syn::Item::Enum(e) if matches!(e.vis, syn::Visibility::Public(_)) => {
                let variants = e
                    .variants
                    .iter()
                    .map(|v| (v.ident.to_string(), shown(&v.fields)))
                    .collect();
                out.insert(e.ident.to_string(), Shape::Enum(variants));
            }
            syn::Item::Type(t) if matches!(t.vis, syn::Visibility::Public(_)) => {
                out.insert(t.ident.to_string(), Shape::Other(shown(&t.ty)));
            }
            _ => {}
        }
    }
    out
}

/// Tokens as a short, readable type: `Option<PlexBoolean>`.
fn shown(tokens: &impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
        ("-> ", ""),
        ("::std::option::", ""),
        ("::std::string::", ""),
        ("::std::vec::", ""),
        ("std::string::", ""),
    ] {
        text = text.replace(from, to);
    }
    text.trim().to_string()
}

/// The changes from `old` to `new`, removals first.
pub fn compare(old: &Api, new: &Api) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, old_method) in &old.methods {
        let place = Place::Method(name.clone(), old_method.request.clone());
        let Some(new_method) = new.methods.get(name) else {
            out.push(Change {
                place,
                change: format!("method `Client::{name}` removed"),
                class: Class::Breaking,
                why: "code calling it no longer compiles",
            });
            continue;
        };
        let place = Place::Method(name.clone(), new_method.request.clone());
        compare_setters(name, old_method, new_method, &place, &mut out);
        if old_method.returns != new_method.returns {
            out.push(Change {
                place,
                change: format!(
                    "`{name}().send()` now returns `{}` (was `{}`)",
                    new_method.returns, old_method.returns
                ),
                class: Class::Breaking,
                why: "code reading the answer or the error no longer compiles",
            });
        }
    }
    for (name, new_method) in &new.methods {
        if !old.methods.contains_key(name) {
            out.push(Change {
                place: Place::Method(name.clone(), new_method.request.clone()),
                change: format!("method `Client::{name}` added"),
                class: Class::NotBreaking,
                why: "a new method",
            });
        }
    }
    for (name, old_shape) in &old.types {
        let place = Place::Type(name.clone());
        match new.types.get(name) {
            None => out.push(Change {
                place,
                change: format!("type `types::{name}` removed"),
                class: Class::Breaking,
                why: "code naming it no longer compiles",
            }),
            Some(new_shape) => compare_shapes(name, old_shape, new_shape, &place, &mut out),
        }
    }
    for name in new.types.keys() {
        if !old.types.contains_key(name) {
            out.push(Change {
                place: Place::Type(name.clone()),
                change: format!("type `types::{name}` added"),
                class: Class::NotBreaking,
                why: "a new type",
            });
        }
    }
    out
}

fn compare_setters(name: &str, old: &Method, new: &Method, place: &Place, out: &mut Vec<Change>) {
    for (setter, old_setter) in &old.setters {
        let change = |text: String, class, why| Change {
            place: place.clone(),
            change: text,
            class,
            why,
        };
        match new.setters.get(setter) {
            None => out.push(change(
                format!("setter `{name}().{setter}()` removed"),
                Class::Breaking,
                "code setting this parameter no longer compiles",
            )),
            Some(new_setter) => {
                if old_setter.ty != new_setter.ty {
                    out.push(change(
                        format!(
                            "setter `{name}().{setter}()` now takes `{}` (was `{}`)",
                            new_setter.ty, old_setter.ty
                        ),
                        Class::Breaking,
                        "values of the old type may no longer convert",
                    ));
                }
                if !old_setter.required && new_setter.required {
                    out.push(change(
                        format!("parameter `{setter}` of `{name}()` is now required"),
                        Class::Breaking,
                        "code that does not set it still compiles, but `send()` fails at run time",
                    ));
                }
            }
        }
    }
    for (setter, new_setter) in &new.setters {
        if old.setters.contains_key(setter) {
            continue;
        }
        let (kind, class, why) = if new_setter.required {
            (
                "required",
                Class::Breaking,
                "existing code does not set it: it still compiles, but `send()` fails at run \
                 time (\"... was not initialized\")",
            )
        } else {
            (
                "optional",
                Class::NotBreaking,
                "existing code need not set it",
            )
        };
        out.push(Change {
            place: place.clone(),
            change: format!("{kind} setter `{name}().{setter}()` added"),
            class,
            why,
        });
    }
}

fn compare_shapes(name: &str, old: &Shape, new: &Shape, place: &Place, out: &mut Vec<Change>) {
    let change = |text: String, class, why| Change {
        place: place.clone(),
        change: text,
        class,
        why,
    };
    match (old, new) {
        (Shape::Struct(old_fields), Shape::Struct(new_fields)) => {
            for (field, old_ty) in old_fields {
                match new_fields.get(field) {
                    None => out.push(change(
                        format!("field `{name}.{field}` removed"),
                        Class::Breaking,
                        "code reading it no longer compiles",
                    )),
                    Some(new_ty) if new_ty != old_ty => out.push(change(
                        format!("field `{name}.{field}` is now `{new_ty}` (was `{old_ty}`)"),
                        Class::Breaking,
                        "code reading it no longer compiles",
                    )),
                    Some(_) => {}
                }
            }
            for (field, ty) in new_fields {
                if !old_fields.contains_key(field) {
                    out.push(change(
                        format!("field `{name}.{field}: {ty}` added"),
                        Class::NotBreaking,
                        "code reading the type is unaffected (the type's builder sets it)",
                    ));
                }
            }
        }
        (Shape::Enum(old_variants), Shape::Enum(new_variants)) => {
            for (variant, old_payload) in old_variants {
                match new_variants.get(variant) {
                    None => out.push(change(
                        format!("variant `{name}::{variant}` removed"),
                        Class::Breaking,
                        "code naming it no longer compiles",
                    )),
                    Some(new_payload) if new_payload != old_payload => out.push(change(
                        format!("variant `{name}::{variant}` now holds `{new_payload}`"),
                        Class::Breaking,
                        "code building or matching it no longer compiles",
                    )),
                    Some(_) => {}
                }
            }
            for variant in new_variants.keys() {
                if old_variants.contains_key(variant) {
                    continue;
                }
                let (class, why) = if name == "KnownTaskName" {
                    (
                        Class::NotBreaking,
                        "task names are open: the facade's `TaskName` is non-exhaustive and \
                         follows the spec",
                    )
                } else {
                    (
                        Class::Breaking,
                        "an exhaustive `match` on the raw enum no longer compiles",
                    )
                };
                out.push(change(
                    format!("variant `{name}::{variant}` added"),
                    class,
                    why,
                ));
            }
        }
        (old, new) if old != new => out.push(change(
            format!("type `types::{name}` changed its kind or definition"),
            Class::Breaking,
            "code using it the old way no longer compiles",
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = r#"
        pub mod types {
            pub struct Task { pub name: String, pub interval: Option<i64> }
            pub enum KnownTaskName { A, B }
            pub enum Mode { On, Off }
        }
        pub struct Client;
        impl Client {
            ///Sends a `POST` request to `/butler/{task}`
            pub fn start_task(&self) -> builder::StartTask<'_> { unreachable!() }
        }
        pub mod builder {
            pub struct StartTask<'a> {
                client: &'a super::Client,
                task: Result<types::TaskName, String>,
                accepts: Result<Option<String>, String>,
            }
            impl<'a> StartTask<'a> {
                pub fn new(client: &'a super::Client) -> Self {
                    Self { client: client, task: Err("task was not initialized".to_string()), accepts: Ok(None) }
                }
                pub fn task<V>(mut self, value: V) -> Self { self }
                pub fn accepts<V>(mut self, value: V) -> Self { self }
                pub async fn send(self) -> Result<ResponseValue<ByteStream>, Error<ByteStream>> { unreachable!() }
            }
        }
    "#;

    #[test]
    fn methods_setters_and_their_requiredness_are_read_from_the_tree() {
        let api = read(CODE).expect("reads");
        let method = &api.methods["start_task"];
        assert_eq!(
            method.request,
            Some(("post".to_string(), "/butler/{task}".to_string()))
        );
        assert!(method.setters["task"].required);
        assert!(!method.setters["accepts"].required);
        assert_eq!(method.setters["accepts"].ty, "Option<String>");
        assert!(matches!(&api.types["Task"], Shape::Struct(f) if f.len() == 2));
    }

    #[test]
    fn an_added_required_setter_is_breaking_and_an_optional_one_is_not() {
        let old = read(CODE).expect("reads");
        let mut new = old.clone();
        let setters = &mut new.methods.get_mut("start_task").expect("there").setters;
        setters.insert(
            "force".to_string(),
            Setter {
                ty: "bool".to_string(),
                required: true,
            },
        );
        setters.insert(
            "quiet".to_string(),
            Setter {
                ty: "bool".to_string(),
                required: false,
            },
        );
        let changes = compare(&old, &new);
        let class = |needle: &str| {
            changes
                .iter()
                .find(|c| c.change.contains(needle))
                .map(|c| c.class)
        };
        assert_eq!(
            class("setter `start_task().force()`"),
            Some(Class::Breaking)
        );
        assert_eq!(
            class("setter `start_task().quiet()`"),
            Some(Class::NotBreaking)
        );
    }

    #[test]
    fn a_known_task_name_added_is_additive_but_a_variant_of_another_enum_is_not() {
        let old = read(CODE).expect("reads");
        let mut new = old.clone();
        for name in ["KnownTaskName", "Mode"] {
            if let Some(Shape::Enum(variants)) = new.types.get_mut(name) {
                variants.insert("C".to_string(), String::new());
            }
        }
        let changes = compare(&old, &new);
        let class = |needle: &str| {
            changes
                .iter()
                .find(|c| c.change.contains(needle))
                .map(|c| c.class)
        };
        assert_eq!(class("`KnownTaskName::C` added"), Some(Class::NotBreaking));
        assert_eq!(class("`Mode::C` added"), Some(Class::Breaking));
    }

    #[test]
    fn a_removed_method_and_a_field_made_optional_are_breaking() {
        let old = read(CODE).expect("reads");
        let mut new = old.clone();
        new.methods.clear();
        if let Some(Shape::Struct(fields)) = new.types.get_mut("Task") {
            fields.insert("name".to_string(), "Option<String>".to_string());
        }
        let changes = compare(&old, &new);
        assert!(
            changes.iter().all(|c| c.class == Class::Breaking),
            "{changes:#?}"
        );
        assert_eq!(changes.len(), 2, "{changes:#?}");
    }
}
