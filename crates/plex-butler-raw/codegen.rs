//! Turns the Butler OpenAPI spec into the raw client's Rust source.
//!
//! Shared by this crate's `build.rs` and by `cargo xtask` (which shows the
//! generated code and runs trial generations), so that both generate exactly
//! the same way.

use std::cell::Cell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// Why the spec could not be turned into a client.
#[derive(Debug)]
pub struct GenerateError {
    /// What went wrong, in terms of the spec.
    pub problem: String,
}

impl GenerateError {
    fn new(problem: impl Into<String>) -> Self {
        Self {
            problem: problem.into(),
        }
    }
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem)
    }
}

/// Parses the spec text (YAML or JSON) into a JSON value.
pub fn parse_spec(text: &str) -> Result<serde_json::Value, GenerateError> {
    serde_yaml_ng::from_str::<serde_json::Value>(text)
        .map_err(|e| GenerateError::new(format!("not valid YAML: {e}")))
}

/// Generates the formatted Rust source of the raw client from the spec text.
pub fn generate(text: &str) -> Result<String, GenerateError> {
    let value = parse_spec(text)?;
    let version = value
        .get("openapi")
        .and_then(|v| v.as_str())
        .ok_or_else(|| GenerateError::new("no `openapi` version field at the top level"))?;
    if !version.starts_with("3.0.") {
        return Err(GenerateError::new(format!(
            "`openapi: {version}`: the generator reads OpenAPI 3.0.x only \
             (compare an upstream 3.1 spec with `cargo xtask spec diff --new FILE`)"
        )));
    }
    let known_names = known_task_names(&value)?;
    let spec: openapiv3::OpenAPI = serde_json::from_value(value)
        .map_err(|e| GenerateError::new(format!("not an OpenAPI 3.0 document: {e}")))?;

    let client = generate_client(&spec).map_err(|e| name_the_operations(&spec, e))?;
    let mut file: syn::File = syn::parse2(client)
        .map_err(|e| GenerateError::new(format!("the generated code does not parse: {e}")))?;
    let raw_variants = generated_variants(&file.items, "KnownTaskName");
    let names_macro = known_task_names_macro(&known_names, &raw_variants)?;
    let names_macro: syn::File = syn::parse2(names_macro)
        .map_err(|e| GenerateError::new(format!("the generated code does not parse: {e}")))?;
    file.items.extend(names_macro.items);
    Ok(prettyplease::unparse(&file))
}

/// The variants of the generated enum `name` (searched in modules too),
/// each with the string serde reads and writes for it: its
/// `#[serde(rename = "...")]`, or else its identifier.
fn generated_variants(items: &[syn::Item], name: &str) -> Vec<(String, syn::Ident)> {
    for item in items {
        match item {
            syn::Item::Enum(item) if item.ident == name => {
                return item
                    .variants
                    .iter()
                    .map(|variant| {
                        let wire = serde_rename(&variant.attrs)
                            .unwrap_or_else(|| variant.ident.to_string());
                        (wire, variant.ident.clone())
                    })
                    .collect();
            }
            syn::Item::Mod(module) => {
                if let Some((_, inner)) = &module.content {
                    let found = generated_variants(inner, name);
                    if !found.is_empty() {
                        return found;
                    }
                }
            }
            _ => {}
        }
    }
    Vec::new()
}

/// The value of `#[serde(rename = "...")]` among `attrs`.
fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Other serde attributes (and their values) are skipped.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                rename = Some(value.value());
            } else if let Ok(value) = meta.value() {
                let _: syn::Expr = value.parse()?;
            }
            Ok(())
        });
    }
    rename
}

/// Runs progenitor, turning its panics into errors: progenitor panics on
/// some specs it cannot handle (several success shapes, for one).
fn generate_client(spec: &openapiv3::OpenAPI) -> Result<TokenStream, GenerateError> {
    let result = quietly(|| {
        let mut generator = progenitor::Generator::new(
            progenitor::GenerationSettings::default()
                // Builder calls (`client.start_task().task(name).send()`):
                // a parameter the spec adds is a setter more, so code
                // written against the previous spec still compiles. The
                // positional style makes every added optional parameter a
                // new argument of the method, breaking every caller.
                .with_interface(progenitor::InterfaceStyle::Builder)
                .with_tag(progenitor::TagStyle::Merged)
                // The facade hands the raw client the headers that go on
                // every request (token, client identity, Accept); the pre
                // hook adds them. This works with any `reqwest::Client`,
                // including one the user built, unlike default headers.
                .with_inner_type(quote!(reqwest::header::HeaderMap))
                .with_pre_hook(quote!(
                    |headers: &reqwest::header::HeaderMap, request: &mut reqwest::Request| {
                        // The generated code sends the spec's `info.version`
                        // as `api-version`, which Plex does not read; the
                        // server reads the version a client speaks from
                        // `X-Plex-Pms-Api-Version`. One header, the one the
                        // server reads.
                        if let Some(version) = request.headers_mut().remove("api-version") {
                            request.headers_mut().insert(
                                reqwest::header::HeaderName::from_static("x-plex-pms-api-version"),
                                version,
                            );
                        }
                        for (name, value) in headers {
                            request.headers_mut().insert(name.clone(), value.clone());
                        }
                    }
                )),
        );
        generator.generate_tokens(spec)
    });
    match result {
        Ok(Ok(tokens)) => Ok(tokens),
        Ok(Err(e)) => Err(GenerateError::new(format!("progenitor rejected it: {e}"))),
        Err(message) => Err(GenerateError::new(format!(
            "progenitor cannot generate a client from it: {message}"
        ))),
    }
}

thread_local! {
    /// Whether a panic on this thread is expected and turned into an error.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into its message, with nothing printed: the
/// generators this workspace uses (progenitor, drift) panic on cases they do
/// not handle. The process-wide panic hook is wrapped once, to keep quiet on
/// the thread that asks; swapping the hook around each call would race with
/// other threads (parallel tests) and could leave a silent hook behind.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static WRAP_HOOK: Once = Once::new();
    WRAP_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "no message".to_owned())
    })
}

/// progenitor's panics do not say which operation it choked on: generate
/// each operation alone to find out, and explain the panics we know.
fn name_the_operations(spec: &openapiv3::OpenAPI, error: GenerateError) -> GenerateError {
    let mut culprits = Vec::new();
    for (path, item) in &spec.paths.paths {
        let openapiv3::ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, op) in item.iter() {
            let mut alone = item.clone();
            for (other, _) in item.iter() {
                if other != method {
                    clear_method(&mut alone, other);
                }
            }
            let mut single = spec.clone();
            single.paths.paths = [(path.clone(), openapiv3::ReferenceOr::Item(alone))]
                .into_iter()
                .collect();
            if generate_client(&single).is_err() {
                let id = op.operation_id.as_deref().unwrap_or("(no operationId)");
                culprits.push(format!("{} {path} ({id})", method.to_uppercase()));
            }
        }
    }
    let mut problem = error.problem;
    if problem.contains("response_types.len() <= 1") {
        problem.push_str(
            " (an operation's success responses, or its error responses, have more than one \
             shape, e.g. 200 with JSON and 204 with none: keep one shape per side)",
        );
    }
    if !culprits.is_empty() {
        problem = format!("{problem}; operation(s) at fault: {}", culprits.join(", "));
    }
    GenerateError::new(problem)
}

fn clear_method(item: &mut openapiv3::PathItem, method: &str) {
    let slot = match method {
        "get" => &mut item.get,
        "put" => &mut item.put,
        "post" => &mut item.post,
        "delete" => &mut item.delete,
        "options" => &mut item.options,
        "head" => &mut item.head,
        "patch" => &mut item.patch,
        "trace" => &mut item.trace,
        _ => return,
    };
    *slot = None;
}

/// The values of `components.schemas.KnownTaskName.enum`, in spec order.
pub fn known_task_names(spec: &serde_json::Value) -> Result<Vec<String>, GenerateError> {
    let values = spec
        .pointer("/components/schemas/KnownTaskName/enum")
        .and_then(|v| v.as_array())
        .ok_or_else(|| GenerateError::new("no string enum at components.schemas.KnownTaskName"))?;
    let mut names = Vec::with_capacity(values.len());
    for value in values {
        let name = value.as_str().ok_or_else(|| {
            GenerateError::new(format!(
                "KnownTaskName has a value that is not a string: {value}"
            ))
        })?;
        if names.iter().any(|n| n == name) {
            return Err(GenerateError::new(format!(
                "KnownTaskName lists `{name}` twice"
            )));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// A Rust identifier for a task name: the name itself when it is one,
/// otherwise its letters and digits.
fn variant_ident(name: &str) -> Result<syn::Ident, GenerateError> {
    let mut ident: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert_str(0, "Task");
    }
    if ident.is_empty() || ident == "Other" {
        return Err(GenerateError::new(format!(
            "KnownTaskName `{name}` makes no usable Rust identifier"
        )));
    }
    Ok(format_ident!("{}", ident))
}

/// `known_task_names!(callback)` calls
/// `callback! { Ident = "WireName" => RawIdent, ... }` with every known
/// name, so that the facade's `TaskName` enum follows the spec with no list
/// of its own. `RawIdent` is the generated `KnownTaskName` variant of the
/// same name (found by the string serde reads for it), so that the facade
/// can map a decoded name without comparing strings.
fn known_task_names_macro(
    names: &[String],
    raw_variants: &[(String, syn::Ident)],
) -> Result<TokenStream, GenerateError> {
    let mut idents = Vec::with_capacity(names.len());
    let mut raw_idents = Vec::with_capacity(names.len());
    for name in names {
        let ident = variant_ident(name)?;
        if idents.contains(&ident) {
            return Err(GenerateError::new(format!(
                "KnownTaskName `{name}` makes the same Rust identifier as another name"
            )));
        }
        let raw = raw_variants
            .iter()
            .find(|(wire, _)| wire == name)
            .map(|(_, raw)| raw.clone())
            .ok_or_else(|| {
                GenerateError::new(format!(
                    "the generated KnownTaskName enum has no variant for `{name}`"
                ))
            })?;
        idents.push(ident);
        raw_idents.push(raw);
    }
    Ok(quote! {
        /// Calls the macro `$callback` with every name of the spec's
        /// `KnownTaskName`, in the spec's order, as
        /// `Ident = "WireName" => GeneratedVariant,`.
        #[macro_export]
        macro_rules! known_task_names {
            ($callback:ident) => {
                $callback! { #( #idents = #names => #raw_idents, )* }
            };
        }
    })
}
