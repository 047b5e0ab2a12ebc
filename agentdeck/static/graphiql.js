// GraphiQL for agentdeck. Queries and mutations go over HTTP POST, subscriptions over
// graphql-transport-ws (the graphql-ws client), both to this page's own /graphql. The headers of
// the header editor go with every HTTP request and, their names lower-cased, in the WebSocket's
// connection_init payload, where the server reads {"authorization": "Bearer <token>"}.
(function () {
  "use strict";

  const endpoint = window.location.origin + window.location.pathname;
  const socketUrl = endpoint.replace(/^http/, "ws");
  const httpFetcher = GraphiQL.createFetcher({ url: endpoint });

  const DEFAULT_QUERY = `# agentdeck GraphQL
#
# 1. Sign in: run Login below (or REST
#    POST /api/v1/auth/token).
# 2. Put its tokens.accessToken in the Headers tab:
#      {"Authorization": "Bearer <accessToken>"}
#    It goes with queries and mutations, and with
#    subscriptions when their WebSocket opens.
# 3. Run Me. The Explorer (left bar) builds
#    operations by clicking; Docs shows the schema.

mutation Login {
  login(input: {
    email: "you@example.com"
    password: "your password"
  }) {
    tokens {
      accessToken
    }
    userErrors {
      field
      message
    }
  }
}

query Me {
  me {
    email
    role
    tenant {
      name
    }
  }
}
`;

  // Decided from the document being sent (GraphiQL's own parse of the editor may lag behind it).
  function isSubscription(request) {
    let document;
    try {
      document = GraphiQL.GraphQL.parse(request.query);
    } catch (error) {
      return false; // the server reports the syntax error
    }
    const operations = document.definitions.filter((d) => d.kind === "OperationDefinition");
    const operation = request.operationName
      ? operations.find((d) => d.name && d.name.value === request.operationName)
      : operations[0];
    return Boolean(operation) && operation.operation === "subscription";
  }

  function connectionParams(headers) {
    const params = {};
    for (const [name, value] of Object.entries(headers || {})) {
      params[name.toLowerCase()] = value;
    }
    return params;
  }

  // One connection per subscription, opened with the headers of the moment it starts and
  // closed when it ends or is stopped.
  async function* subscribe(request, headers) {
    const client = graphqlWs.createClient({
      url: socketUrl,
      connectionParams: connectionParams(headers),
      retryAttempts: 0,
    });
    try {
      yield* client.iterate(request);
    } catch (error) {
      // A refused token closes the socket (4403): say so instead of "[object CloseEvent]".
      if (error && typeof error.code === "number" && "reason" in error) {
        throw new Error(`The server closed the WebSocket: ${error.code} ${error.reason}`);
      }
      throw error;
    } finally {
      await client.dispose();
    }
  }

  function fetcher(request, options) {
    if (isSubscription(request)) {
      return subscribe(request, options && options.headers);
    }
    return httpFetcher(request, options);
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // Tokens stay out of localStorage: a reload asks for the header again.
      shouldPersistHeaders: false,
    }),
  );
})();
