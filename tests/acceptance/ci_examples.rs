//! The CI examples (`examples/ci/`) run as written: each example's own `run:`/`script:` blocks, read from its YAML,
//! run in a shell against the emulator, in the layout its header describes (the pattern it names as main.tf, its
//! backend file, a lock file from `terraform providers lock`, the provider installed from a mirror), with the
//! variable names it uses. Only what cannot run here is replaced: the backend by a local one (an override file), the
//! network mirror by a filesystem mirror holding the release zip, and the CI secrets by the emulator's.
//!
//! Each example goes through a pull-request plan, the apply on main that rotates with the seed, a scheduled run
//! after the seed secret was deleted (nothing to do, no API call), and a scheduled run 91 days later, still without
//! the seed, that rotates with the password in state.

use crate::common::{
    Emulator, Fault, LOGIN_PATH, LOGOUT_PATH, PROVIDER_SOURCE, RESET_PATH, TOKEN_PATH, TfOutput,
    Workspace, assert_no_api_calls, mirror_cli_config, repo_root, str_of,
};
use crate::release::{package, platform};
use std::collections::BTreeMap;
use std::path::PathBuf;

const SEED: &str = "Ci-Seed-Passw0rd";
const ADDR: &str = "thingspace_password_rotation.billing";
const USER: &str = "svc-billing";
/// A little more than the pattern's `rotation_period = "83d"`.
const DAYS_84: i64 = 84 * 24 * 3600;

/// The subset of YAML the CI examples use: block mappings and sequences, `|` block scalars, plain and quoted
/// scalars (flow collections stay as their text). Enough to read them exactly as written, without a YAML crate.
#[derive(Debug, Clone)]
enum Yaml {
    Scalar(String),
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn at(&self, path: &[&str]) -> &Yaml {
        path.iter().fold(self, |node, key| {
            node.get(key)
                .unwrap_or_else(|| panic!("no {key:?} in {node:?} (path {path:?})"))
        })
    }

    fn str(&self) -> &str {
        match self {
            Yaml::Scalar(s) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    fn entries(&self) -> &[(String, Yaml)] {
        match self {
            Yaml::Map(entries) => entries,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    fn items(&self) -> Vec<&Yaml> {
        match self {
            Yaml::Seq(items) => items.iter().collect(),
            // A one-line string where a list may stand (GitLab accepts `script: cmd`).
            Yaml::Scalar(_) => vec![self],
            other => panic!("not a sequence: {other:?}"),
        }
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_skippable(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// A scalar as written after `key:`: quotes removed, a trailing ` # comment` dropped.
fn scalar(text: &str) -> String {
    let t = text.trim();
    for q in ['"', '\''] {
        if let Some(rest) = t.strip_prefix(q) {
            let end = rest
                .find(q)
                .unwrap_or_else(|| panic!("unclosed quote: {t}"));
            return rest[..end].to_owned();
        }
    }
    match t.find(" #") {
        Some(i) => t[..i].trim_end().to_owned(),
        None => t.to_owned(),
    }
}

struct Parser {
    lines: Vec<String>,
    i: usize,
}

impl Parser {
    fn parse(text: &str) -> Yaml {
        let mut p = Parser {
            lines: text.lines().map(str::to_owned).collect(),
            i: 0,
        };
        p.skip();
        p.node(0)
    }

    fn skip(&mut self) {
        while self.i < self.lines.len() && is_skippable(&self.lines[self.i]) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<&str> {
        self.lines.get(self.i).map(String::as_str)
    }

    fn node(&mut self, indent: usize) -> Yaml {
        match self.peek() {
            Some(l) if l.trim_start().starts_with("- ") || l.trim() == "-" => self.seq(indent),
            _ => self.map(indent),
        }
    }

    fn seq(&mut self, indent: usize) -> Yaml {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if indent_of(line) != indent || !line.trim_start().starts_with("- ") {
                break;
            }
            let rest = line.trim_start()[2..].to_owned();
            if rest.trim() == "|" {
                self.i += 1;
                items.push(self.block(indent));
            } else if rest.contains(": ") || rest.trim_end().ends_with(':') {
                // "- key: value": a mapping whose first key sits on the dash's line.
                self.lines[self.i] = format!("{}{}", " ".repeat(indent + 2), rest);
                items.push(self.map(indent + 2));
            } else {
                self.i += 1;
                items.push(Yaml::Scalar(scalar(&rest)));
            }
            self.skip();
        }
        Yaml::Seq(items)
    }

    fn map(&mut self, indent: usize) -> Yaml {
        let mut entries = Vec::new();
        while let Some(line) = self.peek() {
            if indent_of(line) != indent || line.trim_start().starts_with("- ") {
                break;
            }
            let t = line.trim();
            let (key, value) = match t.split_once(": ") {
                Some((k, v)) => (k, v.trim()),
                None => (
                    t.strip_suffix(':')
                        .unwrap_or_else(|| panic!("not `key: value`: {line:?}")),
                    "",
                ),
            };
            let key = scalar(key);
            let value = value.to_owned();
            self.i += 1;
            let node = if value == "|" {
                self.block(indent)
            } else if value.is_empty() || value.starts_with('#') {
                self.skip();
                match self.peek() {
                    Some(next) if indent_of(next) > indent => {
                        let n = indent_of(next);
                        self.node(n)
                    }
                    Some(next)
                        if indent_of(next) == indent && next.trim_start().starts_with("- ") =>
                    {
                        self.seq(indent)
                    }
                    _ => Yaml::Scalar(String::new()),
                }
            } else {
                Yaml::Scalar(scalar(&value))
            };
            entries.push((key, node));
            self.skip();
        }
        Yaml::Map(entries)
    }

    /// A `|` block scalar: the following lines indented deeper than `parent`, dedented.
    fn block(&mut self, parent: usize) -> Yaml {
        let mut body: Vec<&str> = Vec::new();
        let start = self.i;
        while let Some(line) = self.lines.get(self.i) {
            if !line.trim().is_empty() && indent_of(line) <= parent {
                break;
            }
            self.i += 1;
        }
        body.extend(self.lines[start..self.i].iter().map(String::as_str));
        let strip = body
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| indent_of(l))
            .min()
            .unwrap_or(0);
        let text: Vec<&str> = body
            .iter()
            .map(|l| if l.len() >= strip { &l[strip..] } else { "" })
            .collect();
        Yaml::Scalar(format!("{}\n", text.join("\n").trim_end()))
    }
}

/// One CI example: its YAML, its header comment, and the files its header says make up infra/thingspace.
struct Example {
    name: &'static str,
    yaml: Yaml,
    header: Vec<String>,
    /// The file as written.
    text: String,
}

impl Example {
    fn load(name: &'static str) -> Self {
        let path = repo_root().join("examples").join("ci").join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let header = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').to_owned())
            .collect();
        Self {
            name,
            yaml: Parser::parse(&text),
            header,
            text,
        }
    }

    /// The repository file the header says to copy to `infra/thingspace/<target>`.
    fn source_of(&self, target: &str) -> PathBuf {
        let line = self
            .header
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{target} ")))
            .unwrap_or_else(|| panic!("{}: the header names no source for {target}", self.name));
        let rel = line
            .split_whitespace()
            .find(|w| w.starts_with("examples/"))
            .map(|w| w.trim_end_matches([':', ',', '.']))
            .unwrap_or_else(|| panic!("{}: no examples/ path in {line:?}", self.name));
        repo_root().join(rel)
    }
}

/// The pattern's `variable "NAME"` blocks.
fn declared_variables(tf: &str) -> Vec<String> {
    tf.lines()
        .filter_map(|l| l.strip_prefix("variable \""))
        .filter_map(|l| l.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// infra/thingspace laid out as the example's header says, in a workspace wired to `emu`; the provider comes from a
/// filesystem mirror holding the release zip, locked with `terraform providers lock` as the installation guide says.
struct Pipeline {
    ws: Workspace,
    /// What `${{ github.workspace }}` and `$CI_PROJECT_DIR` are: infra/thingspace in it is the workspace directory.
    checkout: PathBuf,
    /// What a manual run is given: GitHub's `workflow_dispatch` inputs (`${{ inputs.NAME }}`), GitLab's variables
    /// set in the Run pipeline form. Empty for pushes, schedules and pull requests.
    inputs: BTreeMap<String, String>,
}

impl Pipeline {
    fn new(example: &Example, emu: &Emulator) -> Self {
        let ws = Workspace::new(emu);
        let checkout = ws.root().join("checkout");
        std::fs::create_dir_all(checkout.join("infra")).unwrap();
        std::os::unix::fs::symlink(ws.dir(), checkout.join("infra").join("thingspace")).unwrap();

        let main = std::fs::read_to_string(example.source_of("main.tf")).unwrap();
        ws.write("main.tf", &main);
        ws.write(
            "backend.tf",
            &std::fs::read_to_string(example.source_of("backend.tf")).unwrap(),
        );
        // The one change to the configuration: a local state instead of the remote one (an override file replaces
        // the backend block).
        ws.write(
            "backend_override.tf",
            "terraform {\n  backend \"local\" {\n    path = \"terraform.tfstate\"\n  }\n}\n",
        );
        // The CLI configuration the example points TF_CLI_CONFIG_FILE at, with a filesystem mirror for the network
        // one (whose shape the installation guide's test checks).
        assert!(
            example.source_of("terraform.tfrc").is_file(),
            "the example's CLI configuration exists"
        );
        let mirror = ws.root().join("mirror");
        let slot = mirror.join("registry.terraform.io").join(PROVIDER_SOURCE);
        std::fs::create_dir_all(&slot).unwrap();
        let pkg = package();
        std::fs::copy(&pkg.zip, slot.join(pkg.zip_name())).unwrap();
        ws.write(
            "terraform.tfrc",
            &mirror_cli_config(&mirror, &format!("registry.terraform.io/{PROVIDER_SOURCE}")),
        );
        let tfrc = ws.dir().join("terraform.tfrc").display().to_string();
        let mut pipeline = Self {
            ws,
            checkout,
            inputs: BTreeMap::new(),
        };
        pipeline.ws.set_env("TF_CLI_CONFIG_FILE", &tfrc);

        // Run once by whoever sets the pipeline up, and committed (installation guide).
        let mirror_arg = format!("-fs-mirror={}", mirror.display());
        let platform_arg = format!("-platform={}", platform());
        pipeline
            .ws
            .tf(&["providers", "lock", &mirror_arg, &platform_arg])
            .assert_success();
        assert!(
            pipeline
                .ws
                .read(".terraform.lock.hcl")
                .contains("verizon/thingspace")
        );
        pipeline
    }

    fn infra(&self) -> PathBuf {
        self.checkout.join("infra").join("thingspace")
    }
}

/// What a job run did: each script's output, and whether the job succeeded.
struct JobRun {
    outputs: Vec<TfOutput>,
    success: bool,
    /// GitHub: the step summary written by the job.
    summary: String,
}

impl JobRun {
    fn text(&self) -> String {
        self.outputs
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn assert_success(&self) -> &Self {
        assert!(self.success, "the job failed:\n{}", self.text());
        self
    }

    fn ran(&self, words: &str) -> bool {
        self.outputs.iter().any(|o| o.combined().contains(words))
    }
}

/// `${{ secrets.NAME }}` → NAME.
fn secret_name(value: &str) -> Option<&str> {
    value
        .strip_prefix("${{ secrets.")?
        .strip_suffix(" }}")
        .map(str::trim)
}

/// The CI secrets as this test sets them: the emulator's client, and the seed while it is "set".
fn secret_value<'a>(
    name: &str,
    emu_client: (&'a str, &'a str),
    seed: Option<&'a str>,
) -> Option<&'a str> {
    match name {
        "THINGSPACE_CLIENT_ID" => Some(emu_client.0),
        "THINGSPACE_CLIENT_SECRET" => Some(emu_client.1),
        "THINGSPACE_SEED_PASSWORD" | "TF_VAR_seed_password" => seed,
        // The backend's credentials: the local backend ignores them.
        n if n.starts_with("AWS_") => Some("unused-by-the-local-backend"),
        n => panic!("the test does not know the CI secret {n}"),
    }
}

const CLIENT: (&str, &str) = (
    crate::common::DEFAULT_CLIENT_ID,
    crate::common::DEFAULT_CLIENT_SECRET,
);

/// Runs GitHub job `job` of the example: its steps' `run:` scripts in order, with the workflow's, the job's and the
/// step's `env` (secrets from [`secret_value`]; a secret that is not set expands to "" as on GitHub; `${{ inputs.X }}`
/// is the pipeline's input, "" outside a manual run), in `defaults.run`'s working directory, honouring
/// `if: steps.<id>.outputs.<name> == 'true'` and `$GITHUB_OUTPUT`. Any other expression fails the test, saying so:
/// teach it here when the example grows one.
fn run_github_job(example: &Example, p: &Pipeline, job: &str, seed: Option<&str>) -> JobRun {
    let doc = &example.yaml;
    let github_workspace = p.checkout.display().to_string();
    let expand = |v: &str| -> String {
        if let Some(name) = secret_name(v) {
            return secret_value(name, CLIENT, seed).unwrap_or("").to_owned();
        }
        // A workflow_dispatch input: what the manual run was given, else empty (pushes, schedules, pull requests).
        if let Some(name) = v
            .strip_prefix("${{ inputs.")
            .and_then(|n| n.strip_suffix(" }}"))
            .filter(|n| !n.contains("${{"))
        {
            return p.inputs.get(name).cloned().unwrap_or_default();
        }
        let v = v.replace("${{ github.workspace }}", &github_workspace);
        assert!(!v.contains("${{"), "the test cannot evaluate {v:?}");
        v
    };
    let mut env: Vec<(String, String)> = Vec::new();
    for scope in [doc.at(&["env"]), doc.at(&["jobs", job, "env"])] {
        for (k, v) in scope.entries() {
            env.push((k.clone(), expand(v.str())));
        }
    }
    let workdir = p
        .checkout
        .join(doc.at(&["defaults", "run", "working-directory"]).str());
    assert_eq!(
        std::fs::canonicalize(&workdir).unwrap(),
        std::fs::canonicalize(p.ws.dir()).unwrap()
    );

    let files = p.ws.root().join(format!("gh-{job}"));
    std::fs::create_dir_all(&files).unwrap();
    let output_file = files.join("output");
    let summary_file = files.join("summary");
    std::fs::write(&summary_file, "").unwrap();
    let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut run = JobRun {
        outputs: Vec::new(),
        success: true,
        summary: String::new(),
    };
    for step in doc.at(&["jobs", job, "steps"]).items() {
        let Some(script) = step.get("run") else {
            continue; // `uses:` steps: checkout and setup-terraform, which the test's workspace stands in for
        };
        if let Some(cond) = step.get("if") {
            let cond = cond.str();
            let rest = cond
                .strip_prefix("steps.")
                .and_then(|r| r.strip_suffix(" == 'true'"))
                .unwrap_or_else(|| panic!("the test cannot evaluate if: {cond}"));
            let mut parts = rest.split('.');
            let (id, _, key) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
            let value = outputs.get(id).and_then(|o| o.get(key)).map(String::as_str);
            if value != Some("true") {
                continue;
            }
        }
        std::fs::write(&output_file, "").unwrap();
        // The step's own env, over the workflow's and the job's.
        let own: Vec<(String, String)> = step
            .get("env")
            .map(|e| {
                e.entries()
                    .iter()
                    .map(|(k, v)| (k.clone(), expand(v.str())))
                    .collect()
            })
            .unwrap_or_default();
        let mut step_env: Vec<(&str, &str)> = env
            .iter()
            .chain(&own)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let output_path = output_file.display().to_string();
        let summary_path = summary_file.display().to_string();
        step_env.push(("GITHUB_OUTPUT", &output_path));
        step_env.push(("GITHUB_STEP_SUMMARY", &summary_path));
        step_env.push(("GITHUB_WORKSPACE", &github_workspace));
        // GitHub runs `run:` with `bash -e {0}` in the working directory.
        let script = format!("cd '{}'\n{}", workdir.display(), script.str());
        let out = p.ws.script("bash", &script, &step_env);
        let ok = out.success();
        run.outputs.push(out);
        if let Some(id) = step.get("id") {
            let written = std::fs::read_to_string(&output_file).unwrap();
            outputs.insert(
                id.str().to_owned(),
                written
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            );
        }
        if !ok {
            run.success = false;
            break;
        }
    }
    run.summary = std::fs::read_to_string(&summary_file).unwrap();
    run
}

/// The CI/CD variables a GitLab example's header lists under "The variables:", in order.
fn gitlab_settings_variables(example: &Example) -> Vec<String> {
    example
        .header
        .iter()
        .skip_while(|l| !l.trim().starts_with("The variables:"))
        .skip(1)
        .take_while(|l| l.starts_with("   "))
        // A name starts its line; its description's continuation lines are indented further.
        .filter(|l| indent_of(l) == 3)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Runs GitLab job `job` of the example: the `before_script` of what it extends and its `script`, one shell, each
/// line failing the job as GitLab's does (`sh -e`; the image's shell is a POSIX sh), from the project directory, with
/// the pipeline's `variables` (expanded as GitLab does) and the CI/CD variables the header lists (a variable that
/// is not set is absent, as on GitLab).
fn run_gitlab_job(example: &Example, p: &Pipeline, job: &str, seed: Option<&str>) -> JobRun {
    let doc = &example.yaml;
    let project_dir = p.checkout.display().to_string();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("CI_PROJECT_DIR".into(), project_dir.clone());
    vars.insert("CI_DEFAULT_BRANCH".into(), "main".into());
    for (name, value) in [
        ("CI_API_V4_URL", "https://gitlab.invalid/api/v4"),
        ("CI_PROJECT_ID", "1"),
        ("CI_JOB_TOKEN", "unused-by-the-local-backend"),
    ] {
        vars.insert(name.into(), value.into());
    }
    for (k, v) in doc.at(&["variables"]).entries() {
        // A variable is `NAME: value`, or `NAME: { value, description }` for one prefilled in the Run pipeline form.
        let mut value = v.get("value").unwrap_or(v).str().to_owned();
        for (name, known) in &vars {
            value = value.replace(&format!("${name}"), known);
        }
        assert!(!value.contains('$'), "the test cannot expand {k}: {value}");
        vars.insert(k.clone(), value);
    }
    for name in gitlab_settings_variables(example) {
        if let Some(v) = secret_value(&name, CLIENT, seed) {
            vars.insert(name, v.to_owned());
        }
    }
    // Variables set in the Run pipeline form win over the defaults.
    for (k, v) in &p.inputs {
        vars.insert(k.clone(), v.clone());
    }

    let job_node = doc.at(&[job]);
    // The job's own variables.
    if let Some(own) = job_node.get("variables") {
        for (k, v) in own.entries() {
            vars.insert(k.clone(), v.get("value").unwrap_or(v).str().to_owned());
        }
    }
    let mut lines: Vec<String> = Vec::new();
    let parent = job_node.get("extends").map(|e| doc.at(&[e.str()]));
    let before = job_node
        .get("before_script")
        .or_else(|| parent.and_then(|p| p.get("before_script")));
    for key in [before, job_node.get("script")].into_iter().flatten() {
        lines.extend(key.items().iter().map(|l| l.str().to_owned()));
    }
    let script = format!("cd \"$CI_PROJECT_DIR\"\n{}", lines.join("\n"));
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = p.ws.script("sh", &script, &env);
    JobRun {
        success: out.success(),
        outputs: vec![out],
        summary: String::new(),
    }
}

/// Asserts the emulator served exactly one rotation since its log was cleared: the plan's connection check (a token
/// request by the plan's provider process), then the apply's token, log-in, reset and log-out.
fn assert_one_rotation(emu: &Emulator, during: &str) {
    let calls: Vec<(String, Option<u16>)> = emu
        .requests()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    // The plan's connection check, the apply's rotation, and its verification (a log-in and a log-out with the new
    // password).
    let want: Vec<(String, Option<u16>)> = [
        TOKEN_PATH,
        TOKEN_PATH,
        LOGIN_PATH,
        RESET_PATH,
        LOGOUT_PATH,
        LOGIN_PATH,
        LOGOUT_PATH,
    ]
    .iter()
    .map(|p| ((*p).to_owned(), Some(200)))
    .collect();
    assert_eq!(calls, want, "one rotation during {during}");
}

/// Asserts the state (in the local backend) holds the password ThingSpace has now.
fn assert_state_holds_the_live_password(emu: &Emulator, p: &Pipeline) -> String {
    let user = emu.user(USER);
    let r = p.ws.resource(ADDR);
    assert_eq!(
        str_of(&r, "password"),
        user.password,
        "state holds ThingSpace's password"
    );
    assert!(r["blocked_reason"].is_null(), "{r}");
    assert!(
        !p.ws.read("terraform.tfstate").contains(SEED),
        "the write-only seed is never stored"
    );
    assert!(p.infra().join("terraform.tfstate").is_file());
    user.password
}

/// The life of one example's pipeline against the emulator.
fn pipeline_rotates_then_runs_on_schedule_without_the_seed(
    example: &Example,
    plan_job: &str,
    apply_job: &str,
    run_job: fn(&Example, &Pipeline, &str, Option<&str>) -> JobRun,
) {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let mut p = Pipeline::new(example, &emu);

    // Without the committed lock file the pipeline refuses to install anything (init -lockfile=readonly).
    let lock = p.ws.read(".terraform.lock.hcl");
    std::fs::remove_file(p.ws.dir().join(".terraform.lock.hcl")).unwrap();
    let run = run_job(example, &p, plan_job, Some(SEED));
    assert!(
        !run.success,
        "a pipeline without a lock file must fail:\n{}",
        run.text()
    );
    assert!(run.ran("-lockfile=readonly"), "{}", run.text());
    assert!(!p.ws.dir().join(".terraform.lock.hcl").exists());
    p.ws.write(".terraform.lock.hcl", &lock);

    // A pull request adds the configuration: its plan, given no seed, shows the first rotation (with a warning that
    // the apply needs the seed), checks the client credentials with a token request, and logs in as nobody.
    emu.clear_requests();
    let run = run_job(example, &p, plan_job, None);
    run.assert_success();
    assert_only_token_requests(&emu, "the pull-request plan");
    assert!(
        run.ran("A speculative plan, which is given no seed"),
        "{}",
        run.text()
    );
    assert!(
        run.summary.contains(&format!("{ADDR} will be created")) || run.ran("Changes planned"),
        "the plan reports the create:\n{}\n{}",
        run.summary,
        run.text()
    );

    // The merge: the apply job rotates once, logging in with the seed, and the state holds the new password.
    emu.clear_requests();
    let run = run_job(example, &p, apply_job, Some(SEED));
    run.assert_success();
    assert!(
        run.ran("Apply complete! Resources: 1 added"),
        "{}",
        run.text()
    );
    assert_one_rotation(&emu, "the first apply");
    let first = assert_state_holds_the_live_password(&emu, &p);
    assert_ne!(first, SEED);
    assert_eq!(emu.user(USER).failed_logins, 0);

    // The seed secret is deleted. The daily scheduled run has nothing to do and logs in as nobody; neither does a
    // pull request's plan, which writes nothing to the state. Both report the user's status, from the plan's JSON, by
    // the installed provider's report command.
    for job in [apply_job, plan_job] {
        emu.clear_requests();
        let state_before = p.ws.read("terraform.tfstate");
        let run = run_job(example, &p, job, None);
        if job == plan_job {
            // No write access to the state: the plan job neither writes it nor takes its lock. (The tests run as
            // root, which file modes do not stop, so this is checked by what the job did rather than by refusing.)
            assert_eq!(
                p.ws.read("terraform.tfstate"),
                state_before,
                "the plan job wrote the state"
            );
            assert!(!p.ws.dir().join(".terraform.tfstate.lock.info").exists());
        }
        run.assert_success();
        assert!(!run.ran("Apply complete"), "{}", run.text());
        assert!(
            run.summary.contains("No changes") || run.ran("No changes."),
            "{}\n{}",
            run.summary,
            run.text()
        );
        assert!(
            run.ran(&format!(
                "thingspace: ok       {ADDR} user \"{USER}\": nothing to do yet"
            )),
            "{}",
            run.text()
        );
        if example.name.starts_with("github") {
            assert!(
                run.summary.contains("### ThingSpace password rotation")
                    && run
                        .summary
                        .contains(&format!("| ok | `{ADDR}` | `{USER}` |")),
                "{}",
                run.summary
            );
        }
        assert_only_token_requests(&emu, "a run without the seed and nothing due");
    }
    assert_eq!(assert_state_holds_the_live_password(&emu, &p), first);

    // 84 days later, still without the seed: the scheduled run rotates, logging in with the password in state.
    p.ws.set_clock_offset(DAYS_84);
    emu.clear_requests();
    let run = run_job(example, &p, apply_job, None);
    run.assert_success();
    assert!(
        run.ran("Apply complete! Resources: 0 added, 1 changed"),
        "{}",
        run.text()
    );
    assert_one_rotation(&emu, "the scheduled rotation");
    // The run's report, kept as the run's artifact: the files the example publishes exist, JSON of the report's
    // schema version and JUnit XML, naming the user and holding no password.
    for (file, want) in [
        ("thingspace-report.json", "\"report_version\": 1"),
        (
            "thingspace-report.xml",
            "<testcase classname=\"thingspace_password_rotation.billing\" name=\"svc-billing\">",
        ),
    ] {
        assert!(
            example.text.contains(&format!("infra/thingspace/{file}")),
            "{} does not publish {file}",
            example.name
        );
        let text = p.ws.read(file);
        assert!(text.contains(want), "{file}: {text}");
        assert!(
            !text.contains(&emu.user(USER).password),
            "{file} holds a password"
        );
    }
    let second = assert_state_holds_the_live_password(&emu, &p);
    assert_ne!(second, first);
    let user = emu.user(USER);
    assert_eq!((user.resets, user.failed_logins), (2, 0));
}

/// Only token requests reached the emulator (the thingspace_connection data source's check): no log-in, no reset.
fn assert_only_token_requests(emu: &Emulator, during: &str) {
    let reqs = emu.requests();
    assert!(
        reqs.iter().all(|r| r.path == TOKEN_PATH),
        "{during} made calls other than token requests: {reqs:?}"
    );
    assert!(!reqs.is_empty(), "{during} did not check the connection");
}

/// The variable the example feeds the seed through is one the pattern it names declares.
fn assert_seed_variable_matches_the_pattern(example: &Example, tf_var: &str) {
    let main = std::fs::read_to_string(example.source_of("main.tf")).unwrap();
    let name = tf_var
        .strip_prefix("TF_VAR_")
        .unwrap_or_else(|| panic!("{tf_var} is not a TF_VAR_ variable"));
    assert!(
        declared_variables(&main).iter().any(|v| v == name),
        "{}: {tf_var} sets var.{name}, which {} does not declare",
        example.name,
        example.source_of("main.tf").display()
    );
}

#[test]
fn github_actions_example_runs_as_written() {
    let example = Example::load("github-actions.yml");
    let doc = &example.yaml;

    // Shape: PR plans in their own cancellable group, applies in one group that is never cancelled, paths filters.
    let group = doc.at(&["concurrency", "group"]).str();
    assert!(
        group.contains("pull_request") && group.contains("'apply'"),
        "{group}"
    );
    assert_eq!(
        doc.at(&["concurrency", "cancel-in-progress"]).str(),
        "${{ github.event_name == 'pull_request' }}"
    );
    for event in ["push", "pull_request"] {
        let paths = doc.at(&["on", event, "paths"]).items();
        assert!(
            paths.iter().any(|p| p.str() == "infra/thingspace/**"),
            "{event}: {paths:?}"
        );
    }
    assert!(doc.at(&["on", "schedule"]).items().len() == 1);
    assert!(
        doc.at(&["jobs", "plan", "if"])
            .str()
            .contains("'pull_request'")
    );
    assert!(
        doc.at(&["jobs", "apply", "if"])
            .str()
            .contains("refs/heads/main")
    );
    // One secrets story: every job takes its secrets from its environment; only the apply job gets the seed.
    let plan_env = doc.at(&["jobs", "plan", "env"]).entries();
    assert!(
        plan_env
            .iter()
            .all(|(_, v)| secret_name(v.str()) != Some("THINGSPACE_SEED_PASSWORD")),
        "the pull-request plan job must not get the seed: {plan_env:?}"
    );
    for job in ["plan", "apply"] {
        let environment = doc.at(&["jobs", job, "environment"]).str();
        assert!(
            environment.starts_with("thingspace-"),
            "{job}: {environment}"
        );
        assert!(
            example
                .header
                .iter()
                .any(|l| l.trim_start().starts_with(environment)),
            "the header describes environment {environment}"
        );
    }
    let seed = doc
        .at(&["jobs", "apply", "env"])
        .entries()
        .iter()
        .find(|(_, v)| secret_name(v.str()) == Some("THINGSPACE_SEED_PASSWORD"))
        .map(|(k, _)| k.as_str())
        .unwrap_or_else(|| panic!("the apply job does not pass the seed secret"));
    assert_seed_variable_matches_the_pattern(&example, seed);
    assert!(
        doc.get("env")
            .unwrap()
            .get("THINGSPACE_CLIENT_SECRET")
            .is_none()
    );

    pipeline_rotates_then_runs_on_schedule_without_the_seed(
        &example,
        "plan",
        "apply",
        run_github_job,
    );
}

#[test]
fn gitlab_ci_example_runs_as_written() {
    let example = Example::load("gitlab-ci.yml");
    let doc = &example.yaml;

    let vars = gitlab_settings_variables(&example);
    assert_eq!(
        vars,
        [
            "THINGSPACE_CLIENT_ID",
            "THINGSPACE_CLIENT_SECRET",
            "TF_VAR_seed_password"
        ]
    );
    assert_seed_variable_matches_the_pattern(&example, &vars[2]);
    // The seed is scoped to the apply environment only.
    assert!(
        example
            .header
            .iter()
            .any(|l| l.contains("TF_VAR_seed_password") && l.contains("thingspace-apply only")),
        "{:?}",
        example.header
    );
    // Applies share one resource group and are never interrupted; plans have their own.
    let template = doc.at(&[".terraform"]);
    assert_eq!(template.at(&["interruptible"]).str(), "false");
    let apply_group = template.at(&["resource_group"]).str();
    assert!(doc.at(&["apply"]).get("resource_group").is_none());
    assert!(doc.at(&["apply"]).get("interruptible").is_none());
    assert_ne!(doc.at(&["plan", "resource_group"]).str(), apply_group);
    for job in ["plan", "apply"] {
        let environment = doc.at(&[job, "environment", "name"]).str();
        assert!(
            example
                .header
                .iter()
                .any(|l| l.trim_start().starts_with(environment)),
            "the header describes environment {environment}"
        );
    }
    let rules = doc.at(&["apply", "rules"]).items();
    assert!(
        rules
            .iter()
            .any(|r| r.at(&["if"]).str().contains("\"schedule\""))
    );
    assert!(rules.iter().any(|r| r.get("changes").is_some()));
    assert!(
        doc.at(&["plan", "rules"]).items()[0]
            .get("changes")
            .is_some()
    );

    pipeline_rotates_then_runs_on_schedule_without_the_seed(
        &example,
        "plan",
        "apply",
        run_gitlab_job,
    );
}

#[test]
fn the_yaml_reader_reads_block_scalars_sequences_and_comments() {
    let doc = Parser::parse(
        "a: \"x # y\"\nb: 1 # note\nc:\n  - one\n  - k: v\n    l: |\n      echo 1\n      # kept\n\n      echo 2\nd:\n- e\n",
    );
    assert_eq!(doc.at(&["a"]).str(), "x # y");
    assert_eq!(doc.at(&["b"]).str(), "1");
    let c = doc.at(&["c"]).items();
    assert_eq!(c[0].str(), "one");
    assert_eq!(c[1].at(&["k"]).str(), "v");
    assert_eq!(c[1].at(&["l"]).str(), "echo 1\n# kept\n\necho 2\n");
    assert_eq!(doc.at(&["d"]).items()[0].str(), "e");
}

/// Two users of the pattern's shape, `svc-billing` and `svc-fleet`, each with its own trigger.
fn two_users(billing: u32, fleet: u32, fleet_extra: &str) -> String {
    let resource = |name: &str, n: u32, extra: &str| {
        format!(
            "resource \"thingspace_password_rotation\" \"{name}\" {{\n  username                    = \"svc-{name}\"\n  current_password_wo         = var.seed_password\n  current_password_wo_version = 1\n  rotation_period             = \"83d\"\n  max_password_age            = \"90d\"\n  triggers                    = {{ n = \"{n}\" }}\n{extra}}}\n"
        )
    };
    format!(
        "terraform {{\n  required_version = \">= 1.11\"\n  required_providers {{\n    thingspace = {{\n      source = \"verizon/thingspace\"\n    }}\n  }}\n}}\n\nvariable \"seed_password\" {{\n  type      = string\n  sensitive = true\n  ephemeral = true\n  default   = null\n}}\n\n{}\n{}",
        resource("billing", billing, ""),
        resource("fleet", fleet, fleet_extra)
    )
}

/// Finding 3, and the recovery of finding 4, in the examples' own pipelines: a blocked user with nothing due passed
/// CI green; now the scheduled run fails, with a line for that user, while a pull request's plan only warns. When
/// rotations fall due, the other user still rotates (the blocked one is refused at apply) and the run fails; moving
/// retry_stored_password_version recovers the blocked user with no failed log-in and no password handled by hand.
fn a_blocked_user_fails_the_scheduled_run_but_not_the_others(
    example: &Example,
    plan_job: &str,
    apply_job: &str,
    run_job: fn(&Example, &Pipeline, &str, Option<&str>) -> JobRun,
) {
    let emu = Emulator::start();
    emu.add_user("svc-billing", SEED);
    emu.add_user("svc-fleet", SEED);
    let mut p = Pipeline::new(example, &emu);
    p.ws.write("main.tf", &two_users(1, 1, ""));
    run_job(example, &p, apply_job, Some(SEED)).assert_success();

    // A rotation of svc-fleet asked for by a trigger; ThingSpace processes its log-in but answers 503.
    p.ws.write("main.tf", &two_users(1, 2, ""));
    emu.fault(
        Fault::status(LOGIN_PATH, 503, "<html>busy</html>")
            .content_type("text/html")
            .after(),
    );
    let run = run_job(example, &p, apply_job, None);
    assert!(
        !run.success,
        "a failed rotation fails the run:\n{}",
        run.text()
    );
    let fleet = "thingspace_password_rotation.fleet";
    assert!(p.ws.resource(fleet)["blocked_reason"].is_string());

    // The trigger is reverted: nothing is due, and svc-fleet is blocked. The scheduled run fails, saying why.
    p.ws.write("main.tf", &two_users(1, 1, ""));
    emu.clear_requests();
    let run = run_job(example, &p, apply_job, None);
    assert!(
        !run.success,
        "a block must fail the scheduled run:\n{}",
        run.text()
    );
    assert!(
        run.ran(&format!(
            "thingspace: FAIL blocked  {fleet} user \"svc-fleet\""
        )),
        "{}",
        run.text()
    );
    assert!(
        run.ran("thingspace: ok       thingspace_password_rotation.billing"),
        "{}",
        run.text()
    );
    if example.name.starts_with("github") {
        assert!(
            run.summary
                .contains(&format!("| blocked | `{fleet}` | `svc-fleet` |")),
            "{}",
            run.summary
        );
    }
    assert_no_api_calls(&emu, "a scheduled run with nothing due");
    // A pull request's plan shows it, and passes.
    let run = run_job(example, &p, plan_job, None);
    run.assert_success();
    assert!(
        run.ran(&format!("thingspace: blocked  {fleet} user \"svc-fleet\"")),
        "{}",
        run.text()
    );
    assert!(
        run.ran("Warning: Password rotation is blocked"),
        "{}",
        run.text()
    );

    // 84 days on, both are due: svc-billing rotates, svc-fleet is refused before any log-in, and the run fails.
    p.ws.set_clock_offset(DAYS_84);
    let run = run_job(example, &p, apply_job, None);
    assert!(!run.success, "{}", run.text());
    assert!(
        run.ran("Rotation blocked to protect the user"),
        "{}",
        run.text()
    );
    assert_eq!(emu.user("svc-billing").resets, 2, "the other user rotated");
    assert_eq!(
        p.ws.resource("thingspace_password_rotation.billing")["password"],
        emu.user("svc-billing").password.as_str()
    );
    assert_eq!(emu.user("svc-fleet").resets, 1);

    // The acknowledgement: one number. svc-fleet rotates with its stored password; the run is green again.
    p.ws.write(
        "main.tf",
        &two_users(1, 1, "  retry_stored_password_version = 1\n"),
    );
    let run = run_job(example, &p, apply_job, None);
    run.assert_success();
    let user = emu.user("svc-fleet");
    assert_eq!((user.resets, user.failed_logins), (2, 0));
    assert_eq!(p.ws.resource(fleet)["password"], user.password.as_str());
    assert!(p.ws.resource(fleet)["blocked_reason"].is_null());
    assert_eq!(emu.user("svc-billing").failed_logins, 0);
}

#[test]
fn github_actions_fails_the_scheduled_run_on_a_blocked_user_and_rotates_the_others() {
    a_blocked_user_fails_the_scheduled_run_but_not_the_others(
        &Example::load("github-actions.yml"),
        "plan",
        "apply",
        run_github_job,
    );
}

#[test]
fn gitlab_ci_fails_the_scheduled_run_on_a_blocked_user_and_rotates_the_others() {
    a_blocked_user_fails_the_scheduled_run_but_not_the_others(
        &Example::load("gitlab-ci.yml"),
        "plan",
        "apply",
        run_gitlab_job,
    );
}

/// A password held past max_password_age by a window the schedule never meets: the scheduled run fails at plan,
/// the report names the user as overdue (read from the state: the provider's real clock agrees here, the password
/// having been set 41 days ago), and a pull request's plan only warns.
fn an_overdue_password_fails_the_scheduled_run(
    example: &Example,
    plan_job: &str,
    apply_job: &str,
    run_job: fn(&Example, &Pipeline, &str, Option<&str>) -> JobRun,
) {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let mut p = Pipeline::new(example, &emu);
    // A window on one day that is not today (nor tomorrow), for an hour: the run today is outside it.
    let day = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .weekday()
        .to_string()
        .to_lowercase()[..3]
        .to_owned();
    let main = std::fs::read_to_string(example.source_of("main.tf"))
        .unwrap()
        .replace("rotation_period             = \"83d\"", "rotation_period             = \"30d\"")
        .replace("max_password_age            = \"90d\"", &format!("max_password_age            = \"40d\"\n  rotation_window = {{\n    days  = [\"{day}\"]\n    start = \"02:00\"\n    end   = \"03:00\"\n  }}"));
    assert!(main.contains("\"40d\"") && main.contains(&day), "{main}");
    p.ws.write("main.tf", &main);
    // Created 41 days ago.
    p.ws.set_clock_offset(-41 * 24 * 3600);
    run_job(example, &p, apply_job, Some(SEED)).assert_success();
    p.ws.set_clock_offset(0);
    emu.clear_requests();
    let run = run_job(example, &p, apply_job, None);
    assert!(!run.success, "{}", run.text());
    assert!(
        run.ran("Password older than max_password_age"),
        "{}",
        run.text()
    );
    assert!(
        run.ran(&format!("thingspace: FAIL overdue  {ADDR} user \"{USER}\"")),
        "{}",
        run.text()
    );
    if example.name.starts_with("github") {
        assert!(
            run.summary
                .contains(&format!("| overdue | `{ADDR}` | `{USER}` |")),
            "{}",
            run.summary
        );
    }
    assert_only_token_requests(&emu, "an overdue scheduled run");
    let run = run_job(example, &p, plan_job, None);
    run.assert_success();
    assert!(
        run.ran("Warning: Password older than max_password_age"),
        "{}",
        run.text()
    );
    assert!(
        run.ran(&format!("thingspace: overdue  {ADDR} user \"{USER}\"")),
        "{}",
        run.text()
    );
}

#[test]
fn github_actions_fails_the_scheduled_run_on_an_overdue_password() {
    an_overdue_password_fails_the_scheduled_run(
        &Example::load("github-actions.yml"),
        "plan",
        "apply",
        run_github_job,
    );
}

#[test]
fn gitlab_ci_fails_the_scheduled_run_on_an_overdue_password() {
    an_overdue_password_fails_the_scheduled_run(
        &Example::load("gitlab-ci.yml"),
        "plan",
        "apply",
        run_gitlab_job,
    );
}

/// Finding 6: a rotate-now address that is not in the state (a typo) fails the manual run before any plan, in both
/// examples; a right one rotates.
#[test]
fn a_mistyped_rotate_now_address_fails_the_manual_run() {
    for (name, var, run_job) in [
        (
            "github-actions.yml",
            "rotate_now",
            run_github_job as fn(&Example, &Pipeline, &str, Option<&str>) -> JobRun,
        ),
        ("gitlab-ci.yml", "ROTATE_NOW", run_gitlab_job),
    ] {
        let example = Example::load(name);
        let emu = Emulator::start();
        emu.add_user(USER, SEED);
        let mut p = Pipeline::new(&example, &emu);
        run_job(&example, &p, "apply", Some(SEED)).assert_success();
        p.inputs.insert(
            var.to_owned(),
            "thingspace_password_rotation.biling".to_owned(),
        );
        emu.clear_requests();
        let run = run_job(&example, &p, "apply", None);
        assert!(!run.success, "{name}:\n{}", run.text());
        assert!(
            run.ran("thingspace_password_rotation.biling, which is not in the state"),
            "{name}:\n{}",
            run.text()
        );
        assert!(
            !run.ran("Terraform will perform"),
            "{name}: stopped before the plan"
        );
        assert_no_api_calls(&emu, "a mistyped rotate-now");
        p.inputs.insert(var.to_owned(), ADDR.to_owned());
        let run = run_job(&example, &p, "apply", None);
        run.assert_success();
        let user = emu.user(USER);
        assert_eq!((user.resets, user.failed_logins), (2, 0), "{name}");
    }
}
