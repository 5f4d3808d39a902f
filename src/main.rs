//! On wasm32 this binary is the web page; natively it is the trainer and evaluator.

fn main() {
    #[cfg(all(target_arch = "wasm32", feature = "page"))]
    latentlab::web::start();
    #[cfg(not(target_arch = "wasm32"))]
    latentlab::native::cli::main();
}
