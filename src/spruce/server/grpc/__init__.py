"""The gRPC data plane: Pinecone's ``VectorService`` over HTTP/2 on the same ports as REST.

- ``vector_service.proto`` and its generated ``vector_service_pb2`` (``make proto``): the messages;
- :mod:`~spruce.server.grpc.codec`: messages to the engine's arguments and results back;
- :mod:`~spruce.server.grpc.service`: the twelve methods, each one :class:`spruce.api.DataPlane` call;
- :mod:`~spruce.server.grpc.calls`: one call from path, metadata and bytes to a status (auth, size cap,
  loop or pool, errors);
- :mod:`~spruce.server.grpc.transport`: HTTP/2 framing on ``h2``.

Which connection is gRPC is decided by :mod:`spruce.server.protocol`; which index a call reaches, by the
port it arrives on (:mod:`spruce.server.ports`).
"""
