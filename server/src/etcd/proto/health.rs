//! gRPC's standard health service (`grpc.health.v1`), which etcd serves.

proto_enum! {
    /// Whether the service serves.
    pub enum ServingStatus = "grpc.health.v1.HealthCheckResponse_ServingStatus" {
        Unknown = 0 => "UNKNOWN",
        Serving = 1 => "SERVING",
        NotServing = 2 => "NOT_SERVING",
        ServiceUnknown = 3 => "SERVICE_UNKNOWN",
    }
}

message! {
    /// Asks whether a service serves ("" for the whole server).
    pub struct HealthCheckRequest = "grpc.health.v1.HealthCheckRequest" {
        1 => service: string,
    }
}

message! {
    /// Whether it serves.
    pub struct HealthCheckResponse = "grpc.health.v1.HealthCheckResponse" {
        1 => status: enumeration<ServingStatus>,
    }
}
