from kubeprop.cli import main

raise SystemExit(main())
