//! The `trashd` binary: everything happens in the library.

fn main() -> std::process::ExitCode {
    trashd::main_entry()
}
