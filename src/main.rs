//! On wasm32 this binary is the web page; natively it is the trainer and evaluator.

fn main() {
    #[cfg(target_arch = "wasm32")]
    latentlab::web::start();
    #[cfg(not(target_arch = "wasm32"))]
    latentlab::native::cli::main();
}
