// Mounts GraphiQL against this service's /graphql, with the headers editor open so a token can
// be sent as `{"Authorization": "Bearer …"}`. Headers are not persisted: a token stays in the tab.
(function () {
  var fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).href });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
