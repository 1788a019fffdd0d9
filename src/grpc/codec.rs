//! The protobuf codec of the cinema services: prost's, except that a request
//! body that is not valid protobuf is the caller's mistake, answered with
//! INVALID_ARGUMENT. (tonic answers INTERNAL, which the contract keeps for our
//! own faults.)

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::ProstCodec;

/// Named by `build.rs` as the codec of every generated service and client.
#[derive(Debug, Clone, Default)]
pub struct ProtoCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
    type Decoder = MalformedIsInvalid<<ProstCodec<T, U> as Codec>::Decoder>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        MalformedIsInvalid(self.0.decoder())
    }
}

/// A decoder whose failures (undecodable bytes) are INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct MalformedIsInvalid<D>(D);

impl<D: Decoder<Error = Status>> Decoder for MalformedIsInvalid<D> {
    type Item = D::Item;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        self.0.decode(buf).map_err(|status| {
            Status::invalid_argument(format!(
                "not a valid protobuf message: {}",
                status.message()
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{arbitrary, proto::v1 as pb};

    proptest! {
        #![proptest_config(arbitrary::config())]

        #[test]
        fn any_bytes_decode_or_fail_as_every_request(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            // A decoding failure is an error value, never a panic.
            let _ = pb::ReserveSeatsRequest::decode(bytes.as_slice());
            let _ = pb::ConfirmPaymentRequest::decode(bytes.as_slice());
            let _ = pb::CancelReservationRequest::decode(bytes.as_slice());
            let _ = pb::GetReservationRequest::decode(bytes.as_slice());
            let _ = pb::ListPurchasesRequest::decode(bytes.as_slice());
            let _ = pb::CreateSessionRequest::decode(bytes.as_slice());
            let _ = pb::GetSessionRequest::decode(bytes.as_slice());
            let _ = pb::ListSessionsRequest::decode(bytes.as_slice());
            let _ = pb::GetSeatMapRequest::decode(bytes.as_slice());
            let _ = pb::WatchSeatMapRequest::decode(bytes.as_slice());
            let _ = pb::GetSessionSalesRequest::decode(bytes.as_slice());
        }
    }
}
