from walkback.cli import main

raise SystemExit(main())
