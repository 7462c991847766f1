console.log('OpenCAE: the issuer is not built yet (see the open issues). Nothing to start.');
