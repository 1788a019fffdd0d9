// The gRPC-Web clients of the cinema API, with the customer's token on every call.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BookingService } from "./gen/cinema/v1/booking_pb";
import { SessionService } from "./gen/cinema/v1/session_pb";

export interface Api {
  sessions: Client<typeof SessionService>;
  booking: Client<typeof BookingService>;
}

/** Clients of the API at `baseUrl`; `refused` is told when the server
 * refuses the token (expired or forged), so the page can forget it. */
export function connect(baseUrl: string, token: string, refused: () => void): Api {
  const bearer: Interceptor = (next) => async (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(request);
    } catch (err) {
      if (ConnectError.from(err).code === Code.Unauthenticated) refused();
      throw err;
    }
  };
  const transport = createGrpcWebTransport({ baseUrl, interceptors: [bearer] });
  return {
    sessions: createClient(SessionService, transport),
    booking: createClient(BookingService, transport),
  };
}
