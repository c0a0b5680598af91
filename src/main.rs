fn main() {
    eprintln!("astrow-pac: the command line is being built");
    std::process::exit(2);
}
