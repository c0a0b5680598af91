fn main() -> std::process::ExitCode {
    astrow_pac::cli::main()
}
