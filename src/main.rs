//! The `terraform-provider-thingspace` binary: start logging, then serve the plugin until Terraform shuts it down.

fn main() -> std::process::ExitCode {
    thingspace_provider::plugin::serve::main()
}
