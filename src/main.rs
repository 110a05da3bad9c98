// Temporary: pulls every dependency in so the dependency build can be shared.
fn main() {
    let _ = (
        std::any::type_name::<aws_credential_types::Credentials>(),
        std::any::type_name::<aws_sigv4::http_request::SigningSettings>(),
        std::any::type_name::<mio::Poll>(),
        std::any::type_name::<rustls::ClientConfig>(),
        std::any::type_name::<quick_xml::Reader<&[u8]>>(),
        std::any::type_name::<serde_json::Value>(),
        std::any::type_name::<miniz_oxide::inflate::stream::InflateState>(),
        std::any::type_name::<ureq_proto::client::Call<ureq_proto::client::state::Prepare>>(),
        libc::SIGTERM,
    );
    log::info!("x");
}
#[derive(serde::Deserialize)]
struct _X { _a: u8 }
